//! `strftime_now` for chat templates: Python-style date formatting in UTC.
//!
//! Hugging Face templates (Llama 3.1+, Granite, ...) call `strftime_now("%d %b %Y")` to put
//! today's date in the system prompt. transformers formats local time; this crate has no
//! time-zone database, so it formats UTC, which differs only near midnight.

use std::time::{SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CivilTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// 0 = Monday.
    weekday: u32,
    /// 1-based day of the year.
    year_day: u32,
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn civil_time(unix_seconds: i64) -> CivilTime {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let leap_shift = u32::from(month > 2 && is_leap(year));
    CivilTime {
        year,
        month,
        day,
        hour: secs / 3600,
        minute: secs / 60 % 60,
        second: secs % 60,
        // 1970-01-01 was a Thursday (index 3).
        weekday: (days + 3).rem_euclid(7) as u32,
        year_day: cumulative[month as usize - 1] + day + leap_shift,
    }
}

/// Formats `unix_seconds` (UTC) with a Python `strftime` format.
///
/// Supported: `%Y %y %m %d %e %j %H %I %M %S %p %b %B %h %a %A %u %w %F %T %D %%`. Other
/// directives are copied through unchanged, as glibc does.
pub fn format_utc(unix_seconds: i64, format: &str) -> String {
    let t = civil_time(unix_seconds);
    let mut out = String::with_capacity(format.len() + 16);
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(d) = chars.next() else {
            out.push('%');
            break;
        };
        let month_name = MONTHS[t.month as usize - 1];
        let weekday_name = WEEKDAYS[t.weekday as usize];
        let hour12 = if t.hour.is_multiple_of(12) {
            12
        } else {
            t.hour % 12
        };
        match d {
            'Y' => out.push_str(&t.year.to_string()),
            'y' => out.push_str(&format!("{:02}", t.year.rem_euclid(100))),
            'm' => out.push_str(&format!("{:02}", t.month)),
            'd' => out.push_str(&format!("{:02}", t.day)),
            'e' => out.push_str(&format!("{:>2}", t.day)),
            'j' => out.push_str(&format!("{:03}", t.year_day)),
            'H' => out.push_str(&format!("{:02}", t.hour)),
            'I' => out.push_str(&format!("{hour12:02}")),
            'M' => out.push_str(&format!("{:02}", t.minute)),
            'S' => out.push_str(&format!("{:02}", t.second)),
            'p' => out.push_str(if t.hour < 12 { "AM" } else { "PM" }),
            'b' | 'h' => out.push_str(&month_name[..3]),
            'B' => out.push_str(month_name),
            'a' => out.push_str(&weekday_name[..3]),
            'A' => out.push_str(weekday_name),
            'u' => out.push_str(&(t.weekday + 1).to_string()),
            'w' => out.push_str(&((t.weekday + 1) % 7).to_string()),
            'F' => out.push_str(&format!("{}-{:02}-{:02}", t.year, t.month, t.day)),
            'T' => out.push_str(&format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second)),
            'D' => out.push_str(&format!(
                "{:02}/{:02}/{:02}",
                t.month,
                t.day,
                t.year.rem_euclid(100)
            )),
            '%' => out.push('%'),
            other => {
                out.push('%');
                out.push(other);
            }
        }
    }
    out
}

/// The current time, formatted like Python's `datetime.now().strftime(format)` but in UTC.
pub fn strftime_now(format: &str) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    format_utc(secs, format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        // Expected strings from Python:
        // datetime.fromtimestamp(ts, timezone.utc).strftime(fmt)
        assert_eq!(format_utc(0, "%d %b %Y"), "01 Jan 1970");
        assert_eq!(format_utc(0, "%A %j"), "Thursday 001");
        // 2024-07-23 14:05:09 UTC (a Tuesday, day 205 of a leap year).
        let ts = 1_721_743_509;
        assert_eq!(format_utc(ts, "%d %b %Y"), "23 Jul 2024");
        assert_eq!(format_utc(ts, "%F %T"), "2024-07-23 14:05:09");
        assert_eq!(
            format_utc(ts, "%a %B %j %I%p %y %u %w %%"),
            "Tue July 205 02PM 24 2 2 %"
        );
        // 2000-02-29 00:00:00 UTC.
        assert_eq!(format_utc(951_782_400, "%Y-%m-%d %j"), "2000-02-29 060");
        // Before the epoch: 1969-12-31 23:59:59.
        assert_eq!(format_utc(-1, "%F %T"), "1969-12-31 23:59:59");
    }

    #[test]
    fn now_has_the_right_shape() {
        let s = strftime_now("%Y-%m-%d");
        assert_eq!(s.len(), 10);
        assert!(s.starts_with("20"));
    }
}
