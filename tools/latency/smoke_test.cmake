# Smoke test of tfd-latency: 200 periods of 1 ms in two raw modes.  Asserts the structure of
# the table and of the JSON file, and that every mode's counts add up; never speed.
file(MAKE_DIRECTORY ${WORK_DIR})
set(json ${WORK_DIR}/smoke.json)
set(svg ${WORK_DIR}/smoke.svg)
file(REMOVE ${json} ${svg})
execute_process(
  COMMAND ${TOOL} --period 1ms --count 200 --round 50 --modes nanosleep,timerfd
          --json ${json} --svg ${svg}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tfd-latency exited with ${rc}: ${err}")
endif()

foreach(expected "mode +periods +samples +overruns +min +mean +p50 +p99 +p99.9 +max"
                 "\nnanosleep +[0-9]+ +[0-9]+ +[0-9]+ " "\ntimerfd +[0-9]+ +[0-9]+ +[0-9]+ "
                 "histogram: " "\nnanosleep +\\|" "\ntimerfd +\\|")
  if(NOT out MATCHES "${expected}")
    message(FATAL_ERROR "output lacks /${expected}/")
  endif()
endforeach()

file(READ ${json} doc)
string(JSON tool GET "${doc}" tool)
string(JSON period GET "${doc}" config period_ns)
string(JSON count GET "${doc}" config count)
string(JSON modes LENGTH "${doc}" modes)
if(NOT tool STREQUAL "tfd-latency" OR NOT period EQUAL 1000000 OR NOT count EQUAL 200
   OR NOT modes EQUAL 2)
  message(FATAL_ERROR "unexpected JSON header: tool=${tool} period=${period} count=${count} modes=${modes}")
endif()
math(EXPR last "${modes} - 1")
foreach(i RANGE ${last})
  string(JSON name GET "${doc}" modes ${i} name)
  string(JSON periods GET "${doc}" modes ${i} periods)
  string(JSON samples GET "${doc}" modes ${i} samples)
  string(JSON overruns GET "${doc}" modes ${i} overruns)
  string(JSON buckets LENGTH "${doc}" modes ${i} histogram)
  math(EXPR accounted "${samples} + ${overruns}")
  if(NOT accounted EQUAL periods)
    message(FATAL_ERROR "${name}: samples ${samples} + overruns ${overruns} != periods ${periods}")
  endif()
  if(periods LESS 200 OR samples LESS 1)
    message(FATAL_ERROR "${name}: ${periods} periods, ${samples} samples; expected >= 200 and >= 1")
  endif()
  # The histogram holds every sample.
  set(total 0)
  math(EXPR last_bucket "${buckets} - 1")
  foreach(b RANGE ${last_bucket})
    string(JSON c GET "${doc}" modes ${i} histogram ${b} 2)
    math(EXPR total "${total} + ${c}")
  endforeach()
  if(NOT total EQUAL samples)
    message(FATAL_ERROR "${name}: histogram holds ${total} values, samples says ${samples}")
  endif()
  # Order of the figures: min <= p50 <= p99 <= p99.9 <= max.
  set(previous "")
  foreach(field min_ns p50_ns p99_ns p99_9_ns max_ns)
    string(JSON v GET "${doc}" modes ${i} ${field})
    if(previous AND v LESS previous)
      message(FATAL_ERROR "${name}: ${field}=${v} is below the previous figure ${previous}")
    endif()
    set(previous ${v})
  endforeach()
endforeach()

file(READ ${svg} picture)
if(NOT picture MATCHES "^<svg " OR NOT picture MATCHES "</svg>\n$" OR NOT picture MATCHES "nanosleep"
   OR NOT picture MATCHES "timerfd")
  message(FATAL_ERROR "the SVG plot is malformed or lacks a mode")
endif()
