//! `deleteWhen`: the hours of the day at which expired files are deleted (RocketMQ
//! `UtilAll.isItTimeToDo`), in the broker's local time zone.

/// Parses `"04"` or `"01;02;03"` into hours, each 0..=23.
pub(crate) fn parse_delete_when(when: &str) -> Result<Vec<u32>, String> {
    when.split(';')
        .map(|h| {
            h.trim()
                .parse::<u32>()
                .ok()
                .filter(|h| *h < 24)
                .ok_or_else(|| {
                    format!("deleteWhen '{when}' must list hours 0-23 separated by ';', e.g. 04 or 01;02;03")
                })
        })
        .collect()
}

/// Whether the current local hour is one of `when`'s.
pub(crate) fn is_it_time_to_do(when: &str) -> bool {
    let hour = local_hour();
    parse_delete_when(when).is_ok_and(|hours| hours.contains(&hour))
}

/// The hour of the day in the local time zone (`TZ`, else `/etc/localtime`, else UTC).
pub(crate) fn local_hour() -> u32 {
    use chrono::Timelike;
    chrono::Local::now().hour()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rocketmq_forms() {
        assert_eq!(parse_delete_when("04"), Ok(vec![4]));
        assert_eq!(parse_delete_when("01;02;23"), Ok(vec![1, 2, 23]));
        assert!(parse_delete_when("24").is_err());
        assert!(parse_delete_when("4am").is_err());
        assert!(parse_delete_when("").is_err());
    }

    #[test]
    fn every_hour_is_always_time_and_no_other_hour_is_now() {
        let all: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
        assert!(is_it_time_to_do(&all.join(";")));
        let now = local_hour();
        let others: Vec<String> = (0..24)
            .filter(|h| *h != now && *h != (now + 1) % 24)
            .map(|h| h.to_string())
            .collect();
        // the hour may roll over between the two reads; the next hour is left out for that
        assert!(!is_it_time_to_do(&others.join(";")));
    }
}
