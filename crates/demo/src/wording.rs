//! Wording helpers for the scripts: `{placeholder}` templates and the spoken forms of dates,
//! times and money in each locale.

use crate::catalog::Locale;
use chrono::{Datelike, NaiveDate, Weekday};

/// The values a script's templates refer to, by name.
///
/// A short vector scanned linearly: a script uses a couple of dozen names, and this is
/// faster than hashing at that size.
#[derive(Clone, Debug, Default)]
pub(crate) struct Vars {
    pairs: Vec<(&'static str, String)>,
}

impl Vars {
    pub(crate) fn set(&mut self, name: &'static str, value: impl Into<String>) {
        let value = value.into();
        match self.pairs.iter_mut().find(|(key, _)| *key == name) {
            Some(pair) => pair.1 = value,
            None => self.pairs.push((name, value)),
        }
    }

    pub(crate) fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// `template` with every `{name}` replaced by its value. An unknown name is left as it
    /// is, so a forgotten variable shows up in tests instead of silently vanishing.
    pub(crate) fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) if self.pairs.iter().any(|(key, _)| *key == &after[..close]) => {
                    out.push_str(self.get(&after[..close]));
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

const WEEKDAYS_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const WEEKDAYS_ES: [&str; 7] = [
    "lunes",
    "martes",
    "miércoles",
    "jueves",
    "viernes",
    "sábado",
    "domingo",
];
const MONTHS_EN: [&str; 12] = [
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
const MONTHS_ES: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];

fn weekday_index(day: Weekday) -> usize {
    day.num_days_from_monday() as usize
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A day relative to the call, as the agent would say it, with its preposition:
/// "tomorrow", "on Thursday, March 12", "on Thursday the 12th of March", "el jueves 12 de
/// marzo".
pub(crate) fn spoken_day(locale: Locale, today: NaiveDate, days_ahead: u32) -> String {
    let day = today + chrono::Days::new(u64::from(days_ahead));
    let weekday = weekday_index(day.weekday());
    let month = day.month0() as usize;
    match (locale, days_ahead) {
        (Locale::EsEs, 0) => "hoy".to_owned(),
        (Locale::EsEs, 1) => "mañana".to_owned(),
        (Locale::EsEs, _) => format!(
            "el {} {} de {}",
            WEEKDAYS_ES[weekday],
            day.day(),
            MONTHS_ES[month]
        ),
        (_, 0) => "today".to_owned(),
        (_, 1) => "tomorrow".to_owned(),
        (Locale::EnUs, _) => format!(
            "on {}, {} {}",
            WEEKDAYS_EN[weekday],
            MONTHS_EN[month],
            day.day()
        ),
        (Locale::EnGb, _) => format!(
            "on {} the {} of {}",
            WEEKDAYS_EN[weekday],
            ordinal(day.day()),
            MONTHS_EN[month]
        ),
    }
}

/// Just the weekday name of a day relative to the call.
pub(crate) fn weekday_name(locale: Locale, today: NaiveDate, days_ahead: u32) -> &'static str {
    let day = today + chrono::Days::new(u64::from(days_ahead));
    let weekday = weekday_index(day.weekday());
    match locale {
        Locale::EsEs => WEEKDAYS_ES[weekday],
        _ => WEEKDAYS_EN[weekday],
    }
}

/// A clock time given in minutes after midnight: "2:30 PM", "2:30 pm", "14:30".
pub(crate) fn spoken_time(locale: Locale, minutes: u32) -> String {
    let (hour, minute) = (minutes / 60 % 24, minutes % 60);
    match locale {
        Locale::EsEs => format!("{hour}:{minute:02}"),
        Locale::EnUs | Locale::EnGb => {
            let twelve = match hour % 12 {
                0 => 12,
                h => h,
            };
            let (am, pm) = if locale == Locale::EnUs {
                ("AM", "PM")
            } else {
                ("am", "pm")
            };
            let half = if hour < 12 { am } else { pm };
            if minute == 0 {
                format!("{twelve} {half}")
            } else {
                format!("{twelve}:{minute:02} {half}")
            }
        }
    }
}

/// An amount of money given in cents: "$84.20", "£42.50", "42,50 €", "$100".
pub(crate) fn money(locale: Locale, cents: u64) -> String {
    let (whole, rest) = (cents / 100, cents % 100);
    // People say "$100", not "$100.00".
    if rest == 0 {
        return match locale {
            Locale::EnUs => format!("${whole}"),
            Locale::EnGb => format!("£{whole}"),
            Locale::EsEs => format!("{whole} €"),
        };
    }
    match locale {
        Locale::EnUs => format!("${whole}.{rest:02}"),
        Locale::EnGb => format!("£{whole}.{rest:02}"),
        Locale::EsEs => format!("{whole},{rest:02} €"),
    }
}

/// The ISO date `days_ahead` after `today`, as stored in collected parameters.
pub(crate) fn iso_day(today: NaiveDate, days_ahead: u32) -> String {
    (today + chrono::Days::new(u64::from(days_ahead)))
        .format("%Y-%m-%d")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_known_names_and_keeps_unknown_ones() {
        let mut vars = Vars::default();
        vars.set("first", "Maria");
        vars.set("first", "Ana");
        assert_eq!(vars.fill("Hi {first}, {nope} {"), "Hi Ana, {nope} {");
    }

    #[test]
    fn speaks_dates_times_and_money_per_locale() {
        let Some(today) = NaiveDate::from_ymd_opt(2026, 3, 10) else {
            panic!("valid date")
        };
        assert_eq!(spoken_day(Locale::EnUs, today, 1), "tomorrow");
        assert_eq!(spoken_day(Locale::EnUs, today, 2), "on Thursday, March 12");
        assert_eq!(
            spoken_day(Locale::EnGb, today, 3),
            "on Friday the 13th of March"
        );
        assert_eq!(spoken_day(Locale::EsEs, today, 2), "el jueves 12 de marzo");
        assert_eq!(spoken_time(Locale::EnUs, 14 * 60 + 30), "2:30 PM");
        assert_eq!(spoken_time(Locale::EnGb, 9 * 60), "9 am");
        assert_eq!(spoken_time(Locale::EsEs, 16 * 60 + 5), "16:05");
        assert_eq!(money(Locale::EnUs, 8420), "$84.20");
        assert_eq!(money(Locale::EsEs, 4250), "42,50 €");
        assert_eq!(money(Locale::EnGb, 2500), "£25");
        assert_eq!(iso_day(today, 2), "2026-03-12");
        assert_eq!(ordinal(22), "22nd");
        assert_eq!(ordinal(111), "111th");
    }
}
