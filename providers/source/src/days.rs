//! The UTC days a window touches: daily listings (a trail's `YYYY/MM/DD/` prefixes) and daily
//! billing periods are asked day by day.

use chrono::{Duration, NaiveDate};

use crate::Window;

impl Window {
    /// Every UTC day with a moment inside the window, in order (none for an empty window).
    pub fn dates(&self) -> Vec<NaiveDate> {
        if self.end <= self.start {
            return Vec::new();
        }
        let last = (self.end - Duration::nanoseconds(1)).date_naive();
        self.start
            .date_naive()
            .iter_days()
            .take_while(|day| *day <= last)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_window_touches_the_days_of_its_moments() {
        let at = |d, h| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let window = |start, end| Window { start, end };
        assert_eq!(window(at(1, 0), at(3, 0)).dates(), vec![day(1), day(2)]);
        assert_eq!(
            window(at(1, 23), at(3, 1)).dates(),
            vec![day(1), day(2), day(3)]
        );
        assert_eq!(window(at(2, 5), at(2, 6)).dates(), vec![day(2)]);
        assert!(window(at(2, 5), at(2, 5)).dates().is_empty());
        assert!(window(at(3, 0), at(2, 0)).dates().is_empty());
    }
}
