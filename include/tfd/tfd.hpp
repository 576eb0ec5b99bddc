// Umbrella header: everything tfd offers.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include "tfd/backend_kind.hpp"
#include "tfd/clock.hpp"
#include "tfd/embedded_timer.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/fd_watcher.hpp"
#include "tfd/io_events.hpp"
#include "tfd/signal_fd.hpp"
#include "tfd/signal_watcher.hpp"
#include "tfd/small_function.hpp"
#include "tfd/tcp_connection.hpp"
#include "tfd/tcp_endpoint.hpp"
#include "tfd/tcp_listener.hpp"
#include "tfd/time_convert.hpp"
#include "tfd/timer_fd.hpp"
#include "tfd/timer_queue.hpp"
#include "tfd/timer_slack.hpp"
#include "tfd/timer_watcher.hpp"
#include "tfd/unique_fd.hpp"
#include "tfd/wake_fd.hpp"
#include "tfd/work_guard.hpp"
