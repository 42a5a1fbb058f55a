// Proleptic Gregorian calendar arithmetic on day numbers counted from
// 1970-01-01 (day 0), as CQL's date, Parquet's DATE and Unix time count them.
#pragma once

#include <cstdint>
#include <string>

namespace pipekit::calendar {

bool is_leap_year(int64_t year);
unsigned days_in_month(int64_t year, unsigned month);  // month 1..12

// Days from 1970-01-01 to year-month-day (month 1..12, day 1..31, unchecked).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);

// Day number -> "YYYY-MM-DD" (at least four year digits; negative years signed).
std::string format_date(int64_t days);

}  // namespace pipekit::calendar
