//! Units: those promtool knows with their base units, the prefixes that make a unit non-base,
//! the units a histogram's name ends in, and the unit of a name for OpenMetrics' `# UNIT`.

/// Units promtool 2.42 knows (`metricUnits`), each with its base unit. A name segment that is
/// a unit whose base is another one, or any unit with a prefix of [`UNIT_PREFIXES`], is refused
/// wherever it stands in the name, in any case. promtool checks only one unit per name (the
/// first it meets, in random order), case-sensitively: these rules check every segment.
/// (Prometheus 2.42 has `kelvins` -> `kelvin` and no `candela` or `moles`, unlike later
/// versions; the property test in `tests/tests/promtool_names.rs` found it.)
pub const UNITS: &[(&str, &str)] = &[
    ("amperes", "amperes"),
    ("bytes", "bytes"),
    ("celsius", "celsius"),
    ("grams", "grams"),
    ("joules", "joules"),
    ("kelvin", "kelvin"),
    ("meters", "meters"),
    ("metres", "metres"),
    ("seconds", "seconds"),
    ("volts", "volts"),
    ("kelvins", "kelvin"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("fahrenheit", "celsius"),
    ("rankine", "kelvin"),
    ("inches", "meters"),
    ("yards", "meters"),
    ("miles", "meters"),
    ("bits", "bytes"),
    ("calories", "joules"),
    ("pounds", "grams"),
    ("ounces", "grams"),
    // Stricter than promtool: a percentage is a ratio from 0 to 1.
    ("percentage", "ratio"),
];

/// Prefixes that make a unit non-base (`kilobytes`, `milliseconds`), as promtool lists them.
pub const UNIT_PREFIXES: &[&str] = &[
    "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega",
    "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
];

/// Units a histogram of a `#[derive(Metrics)]` struct ends in (after the base units of the
/// Prometheus naming practice); a histogram of counts of things is marked `unitless` instead.
/// These are also the units OpenMetrics names in a `# UNIT` line ([`unit_of`]), whatever the
/// kind of the family.
pub const HISTOGRAM_UNITS: &[&str] = &[
    "seconds", "bytes", "ratio", "meters", "grams", "celsius", "kelvin", "joules", "volts",
    "amperes",
];

/// The base unit of a name segment that is a non-base unit (`minutes`, `kilobytes`,
/// `Milliseconds`), if it is one.
#[must_use]
pub fn non_base_unit(segment: &str) -> Option<&'static str> {
    let lower = segment.to_ascii_lowercase();
    UNITS.iter().find_map(|(unit, base)| {
        let prefix = lower.strip_suffix(unit)?;
        let prefixed = UNIT_PREFIXES.contains(&prefix);
        ((prefix.is_empty() && unit != base) || prefixed).then_some(*base)
    })
}

/// The unit a family name ends in, if its last `_` segment is one of [`HISTOGRAM_UNITS`]
/// (`job_duration_seconds` -> `seconds`): the unit of its OpenMetrics `# UNIT` line.
#[must_use]
pub fn unit_of(name: &str) -> Option<&'static str> {
    HISTOGRAM_UNITS.iter().copied().find(|unit| {
        name.strip_suffix(unit)
            .is_some_and(|stem| stem.ends_with('_'))
    })
}

/// Whether `name` ends in a unit of [`HISTOGRAM_UNITS`] as its last segment, after a stem
/// (`_seconds` alone is not a name with a unit).
pub(crate) fn ends_in_histogram_unit(name: &str) -> bool {
    unit_of(name).is_some_and(|unit| name.len() > unit.len() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_of_a_name_is_its_last_segment() {
        for (name, unit) in [
            ("job_duration_seconds", Some("seconds")),
            ("room_kelvin", Some("kelvin")),
            ("room_celsius", Some("celsius")),
            ("payload_bytes", Some("bytes")),
            ("cache_hit_ratio", Some("ratio")),
            ("x_amperes", Some("amperes")),
            ("_seconds", Some("seconds")),
            ("seconds", None),
            ("xseconds", None),
            ("seconds_total", None),
            ("job_minutes", None),
            ("room_kelvins", None),
        ] {
            assert_eq!(unit_of(name), unit, "{name}");
        }
        assert!(ends_in_histogram_unit("room_kelvin"));
        assert!(!ends_in_histogram_unit("_kelvin"));
        assert!(!ends_in_histogram_unit("kelvin"));
    }

    #[test]
    fn every_unit_of_a_histogram_is_a_base_unit_promtool_knows() {
        for unit in HISTOGRAM_UNITS {
            let known = UNITS.iter().any(|(u, base)| u == unit && base == unit);
            assert!(known || *unit == "ratio", "{unit}");
            assert_eq!(non_base_unit(unit), None, "{unit}");
        }
    }

    #[test]
    fn non_base_units_have_their_base() {
        assert_eq!(non_base_unit("minutes"), Some("seconds"));
        assert_eq!(non_base_unit("Kilobytes"), Some("bytes"));
        assert_eq!(non_base_unit("kelvins"), Some("kelvin"));
        assert_eq!(non_base_unit("millikelvin"), Some("kelvin"));
        assert_eq!(non_base_unit("kelvin"), None);
        assert_eq!(non_base_unit("thermometers"), None);
    }
}
