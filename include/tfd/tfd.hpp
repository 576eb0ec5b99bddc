// Umbrella header: everything tfd offers.
#pragma once

#include "tfd/clock.hpp"
#include "tfd/time_convert.hpp"
#include "tfd/timer_fd.hpp"
#include "tfd/unique_fd.hpp"
