use std::collections::BTreeMap;

use super::schema::{MANTISSA, MANTISSA_BITS, TABLES, power_of_two, table_index};
use super::*;

/// A small deterministic generator, so that failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in [0, 1).
    #[allow(clippy::cast_precision_loss)]
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn histogram(config: NativeConfig, bounds: &[f64]) -> NativeHistogram {
    NativeHistogram::new(&config, bounds).unwrap()
}

/// The (bucket number, count) pairs of a reading with a count, both signs.
fn populated(reading: &NativeReading) -> Vec<(bool, i32, u64)> {
    let mut out = Vec::new();
    for negative in [false, true] {
        out.extend(
            reading
                .buckets(negative)
                .filter(|(_, count)| *count > 0)
                .map(|(key, count)| (negative, key, count)),
        );
    }
    out
}

/// What a histogram of `values` holds in `schema`, counted one by one.
fn expected(values: &[f64], schema: i32, zero_threshold: f64) -> (u64, Vec<(bool, i32, u64)>) {
    let mut zero = 0;
    let mut buckets = BTreeMap::new();
    for value in values.iter().filter(|value| !value.is_nan()) {
        if value.abs() <= zero_threshold {
            zero += 1;
        } else {
            *buckets
                .entry((*value < 0.0, bucket_key(value.abs(), schema)))
                .or_insert(0) += 1;
        }
    }
    (
        zero,
        buckets
            .into_iter()
            .map(|((negative, key), count)| (negative, key, count))
            .collect(),
    )
}

#[test]
fn schema_from_bucket_factor() {
    let schema = |factor| NativeConfig::new().bucket_factor(factor).schema();
    assert_eq!(schema(1.1), Ok(3));
    assert_eq!(schema(2.0), Ok(0));
    assert_eq!(schema(1.5), Ok(1));
    assert_eq!(schema(4.0), Ok(-1));
    assert_eq!(schema(65536.0), Ok(-4));
    assert_eq!(schema(1e300), Ok(-4));
    assert_eq!(schema(1.0001), Ok(8));
    assert_eq!(schema(2f64.powf(1.0 / 8.0)), Ok(3));
    assert_eq!(schema(1.0), Err(NativeConfigError::BucketFactor(1.0)));
    assert!(schema(f64::NAN).is_err());
    assert!(schema(-3.0).is_err());
}

#[test]
fn configuration_errors_are_values() {
    let new = |config: NativeConfig, bounds: &[f64]| NativeHistogram::new(&config, bounds);
    let base = NativeConfig::new();
    assert_eq!(
        new(base.zero_threshold(-1.0), &[]).unwrap_err(),
        NativeConfigError::ZeroThreshold(-1.0)
    );
    assert!(new(base.zero_threshold(f64::INFINITY), &[]).is_err());
    assert_eq!(
        new(base.max_buckets(1001), &[]).unwrap_err(),
        NativeConfigError::MaxBuckets(1001)
    );
    assert_eq!(
        new(base, &[1.0, 1.0]).unwrap_err(),
        NativeConfigError::ClassicBounds
    );
    assert!(new(base, &[f64::NAN]).is_err());
    assert!(new(base, &[1.0, f64::INFINITY]).is_err());
    assert!(new(base.max_buckets(1000).zero_threshold(0.0), &[0.5]).is_ok());
    let message = new(base.bucket_factor(0.5), &[]).unwrap_err().to_string();
    assert!(message.starts_with("the bucket factor of a native histogram must be above 1"));
}

#[test]
fn boundaries_are_powers_of_two_roots() {
    for schema in 1..=MAX_SCHEMA {
        let table = &TABLES[table_index(schema)];
        let per_octave = 1usize << schema;
        assert_eq!(table.thresholds.len(), per_octave + 1);
        assert!(table.thresholds.windows(2).all(|w| w[0] < w[1]));
        // The middle boundary is sqrt(2), which IEEE rounds correctly.
        assert_eq!(
            table.thresholds[per_octave / 2],
            std::f64::consts::SQRT_2.to_bits() & MANTISSA,
            "schema {schema}"
        );
        // A boundary of a schema is a boundary of the next.
        if schema < MAX_SCHEMA {
            let finer = &TABLES[table_index(schema + 1)];
            for (j, threshold) in table.thresholds[..per_octave].iter().enumerate() {
                assert_eq!(*threshold, finer.thresholds[2 * j]);
            }
        }
        // One comparison after the cell lookup is enough: at most one boundary a cell.
        let cell_bits = MANTISSA_BITS - schema.unsigned_abs() - 1;
        for cell in 0..2 * per_octave as u64 {
            let inside = table.thresholds[..per_octave]
                .iter()
                .filter(|t| (**t >> cell_bits) == cell)
                .count();
            assert!(inside <= 1, "schema {schema} cell {cell}");
        }
    }
}

#[test]
fn bucket_keys_follow_the_schema() {
    // Powers of two are upper bounds, in every schema (upper bounds are inclusive).
    for schema in MIN_SCHEMA..=MAX_SCHEMA {
        assert_eq!(bucket_key(1.0, schema), 0, "schema {schema}");
        let per_octave = 2f64.powi(schema);
        for exponent in [-1074, -1072, -1022, -1008, -304, -1, 1, 7, 304, 1008, 1023] {
            let value = power_of_two(exponent);
            let key = bucket_key(value, schema);
            // ceil(exponent * 2^schema) for a power of two.
            let scaled = f64::from(exponent) * per_octave;
            #[allow(clippy::cast_possible_truncation)]
            let want = scaled.ceil() as i32;
            assert_eq!(key, want, "2^{exponent} in schema {schema}");
            let (lower, upper) = bucket_bounds(schema, key);
            // Bounds between subnormals round; above them, they are exact.
            assert!(lower <= value && value <= upper, "2^{exponent} in {schema}");
            assert!(
                exponent < -1022 || lower < value,
                "2^{exponent} in {schema}"
            );
            if scaled.fract() == 0.0 && exponent >= -1022 {
                // A boundary: the top of its bucket, the next float up (not a subnormal's,
                // whose next float can be two buckets up) in the next one.
                assert_eq!(upper, value, "2^{exponent} in schema {schema}");
                let next = f64::from_bits(value.to_bits() + 1);
                assert_eq!(
                    bucket_key(next, schema),
                    key + 1,
                    "2^{exponent}+ in {schema}"
                );
            }
        }
    }
    // Against the definition, log2 in floats, away from boundaries.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let exponent = (rng.unit() * 2000.0 - 1000.0).floor();
        let value = 2f64.powf(exponent + rng.unit());
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            let scaled = value.log2() * 2f64.powi(schema);
            if (scaled - scaled.round()).abs() < 1e-6 {
                continue;
            }
            #[allow(clippy::cast_possible_truncation)]
            let want = scaled.ceil() as i32;
            assert_eq!(
                bucket_key(value, schema),
                want,
                "{value} in schema {schema}"
            );
            let (lower, upper) = bucket_bounds(schema, want);
            assert!(
                lower < value && value <= upper,
                "{value} in {schema}: {lower} {upper}"
            );
        }
    }
}

#[test]
fn extreme_magnitudes_have_buckets() {
    for schema in MIN_SCHEMA..=MAX_SCHEMA {
        let largest = bucket_key(f64::MAX, schema);
        assert_eq!(bucket_key(f64::INFINITY, schema), largest + 1);
        assert_eq!(bucket_bounds(schema, largest).1, f64::MAX);
        assert_eq!(
            bucket_bounds(schema, largest + 1),
            (f64::MAX, f64::INFINITY)
        );
        // Subnormals: the smallest is 2^-1074, a bucket's upper bound.
        #[allow(clippy::cast_possible_truncation)]
        let smallest = (-1074.0 * 2f64.powi(schema)).ceil() as i32;
        assert_eq!(bucket_key(f64::from_bits(1), schema), smallest);
        assert!(bucket_key(f64::MIN_POSITIVE / 3.0, schema) < bucket_key(1e-300, schema));
    }
    // Every f64 of a sign fits in one window in schema -4.
    let span = bucket_key(f64::INFINITY, MIN_SCHEMA) - bucket_key(f64::from_bits(1), MIN_SCHEMA);
    assert!(span.unsigned_abs() < MIN_WINDOW_LIMIT);
}

#[test]
fn coarser_buckets_hold_the_finer_ones() {
    for schema in (MIN_SCHEMA + 1)..=MAX_SCHEMA {
        for key in -300..300 {
            for reduction in 1..=(schema - MIN_SCHEMA) {
                let (lower, upper) = bucket_bounds(schema, key);
                let (coarse_lower, coarse_upper) =
                    bucket_bounds(schema - reduction, coarser(key, reduction));
                assert!(coarse_lower <= lower && upper <= coarse_upper);
            }
        }
    }
}

#[test]
fn a_reading_in_spans_and_deltas() {
    let h = histogram(NativeConfig::new(), &[]);
    // Schema 3: 1.0 is the top of bucket 0, 1.05 in bucket 1 (up to 2^(1/8) = 1.0905),
    // 1.5 in bucket 5, 3.0 in bucket 13, -2.0 is the top of negative bucket 8.
    for value in [1.0, 1.05, 1.5, 3.0, 0.0, -2.0, 1.0] {
        h.observe(value);
    }
    let reading = h.read();
    assert_eq!(reading.schema, 3);
    assert_eq!(reading.count, 7);
    assert_eq!(reading.zero_count, 1);
    assert_eq!(reading.zero_threshold, DEFAULT_ZERO_THRESHOLD);
    assert_eq!(reading.sum, 1.0 + 1.05 + 1.5 + 3.0 + 0.0 - 2.0 + 1.0);
    assert_eq!(
        reading.positive_spans,
        [
            Span {
                offset: 0,
                length: 2
            },
            Span {
                offset: 3,
                length: 1
            },
            Span {
                offset: 7,
                length: 1
            }
        ]
    );
    assert_eq!(reading.positive_deltas, [2, -1, 0, 0]);
    assert_eq!(
        reading.negative_spans,
        [Span {
            offset: 8,
            length: 1
        }]
    );
    assert_eq!(reading.negative_deltas, [1]);
    assert!(reading.classic.is_empty());
}

#[test]
fn small_gaps_stay_inside_a_span() {
    let buckets = vec![(-2, 3), (1, 5), (4, 1), (8, 2)];
    let (spans, deltas) = spans_and_deltas(buckets);
    // -2, then a gap of 2 (-1, 0) filled with zeros, 1, a gap of 2 (2, 3), 4, then a gap
    // of 3: a new span.
    assert_eq!(
        spans,
        [
            Span {
                offset: -2,
                length: 7
            },
            Span {
                offset: 3,
                length: 1
            }
        ]
    );
    assert_eq!(deltas, [3, -3, 0, 5, -5, 0, 1, 1]);
    assert_eq!(spans_and_deltas(Vec::new()), (Vec::new(), Vec::new()));
}

#[test]
fn an_empty_histogram_with_zero_threshold_zero_has_a_no_op_span() {
    let h = histogram(NativeConfig::new().zero_threshold(0.0), &[]);
    let reading = h.read();
    assert_eq!(
        reading.positive_spans,
        [Span {
            offset: 0,
            length: 0
        }]
    );
    assert!(reading.positive_deltas.is_empty());
    assert_eq!(reading.count, 0);
    // With the default threshold the threshold says it is native.
    let reading = histogram(NativeConfig::new(), &[]).read();
    assert!(reading.positive_spans.is_empty());
}

#[test]
fn zero_threshold_nan_and_infinities() {
    let h = histogram(NativeConfig::new().zero_threshold(0.5), &[1.0]);
    for value in [
        0.5,
        -0.5,
        -0.0,
        0.25,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.75,
    ] {
        h.observe(value);
    }
    let reading = h.read();
    // NaN ignored: in no count, no bucket, not in the sum.
    assert_eq!(reading.count, 7);
    assert_eq!(reading.zero_count, 4);
    assert!(reading.sum.is_nan(), "+Inf and -Inf");
    // +Inf in the classic `+Inf` bucket.
    assert_eq!(reading.classic, [6, 7]);
    let native = populated(&reading);
    let infinite = bucket_key(f64::INFINITY, 3);
    assert_eq!(
        native,
        [
            (false, bucket_key(0.75, 3), 1),
            (false, infinite, 1),
            (true, infinite, 1)
        ]
    );
    let in_buckets: u64 = native.iter().map(|(_, _, count)| count).sum();
    assert_eq!(in_buckets + reading.zero_count, reading.count);
    // A NaN alone leaves the sum a number.
    let h = histogram(NativeConfig::new(), &[1.0]);
    h.observe(0.5);
    h.observe(f64::NAN);
    let reading = h.read();
    assert_eq!((reading.count, reading.sum), (1, 0.5));
    assert_eq!(reading.classic, [1, 1]);
}

#[test]
fn classic_buckets_are_cumulative() {
    let h = histogram(NativeConfig::new(), &[0.1, 1.0, 10.0]);
    for value in [0.05, 0.1, 0.5, 5.0, 50.0, -1.0] {
        h.observe(value);
    }
    let reading = h.read();
    assert_eq!(reading.classic, [3, 4, 5, 6]);
    assert_eq!(reading.count, 6);
    // A second reading gives the same, and more after more observations.
    assert_eq!(h.read().classic, [3, 4, 5, 6]);
    h.observe(0.5);
    assert_eq!(h.read().classic, [3, 5, 6, 7]);
}

#[test]
fn readings_are_cumulative_across_halves() {
    let h = histogram(NativeConfig::new(), &[]);
    let mut values = Vec::new();
    for round in 0..10u32 {
        for i in 0..=round {
            let value = f64::from(i + 1) * 0.37;
            values.push(value);
            h.observe(value);
        }
        let reading = h.read();
        let (zero, buckets) = expected(&values, reading.schema, DEFAULT_ZERO_THRESHOLD);
        assert_eq!(reading.zero_count, zero);
        assert_eq!(populated(&reading), buckets, "round {round}");
        assert_eq!(reading.count, values.len() as u64);
    }
}

#[test]
fn windows_follow_the_observations() {
    // Values spread over many powers of two and both signs, in a histogram whose limit is
    // high enough that the schema stays: every count in its own bucket.
    let h = histogram(NativeConfig::new().max_buckets(1000), &[]);
    let mut rng = Rng(7);
    let values: Vec<f64> = (0..5000)
        .map(|_| {
            let magnitude = 2f64.powf(rng.unit() * 40.0 - 20.0);
            if rng.next().is_multiple_of(5) {
                -magnitude
            } else {
                magnitude
            }
        })
        .collect();
    for value in &values {
        h.observe(*value);
    }
    let reading = h.read();
    assert_eq!(reading.schema, 3, "about 640 buckets, under the limit");
    let (zero, buckets) = expected(&values, reading.schema, DEFAULT_ZERO_THRESHOLD);
    assert_eq!(zero, 0);
    assert_eq!(populated(&reading), buckets);
    assert!(buckets.len() <= 1000);
    // In a schema that holds them, nothing is reduced.
    let h = histogram(NativeConfig::new().max_buckets(1000), &[]);
    let mut values = Vec::new();
    for i in 0..3000 {
        let value = 2f64.powf(f64::from(i % 300) / 25.0 - 6.0);
        values.push(value);
        h.observe(value);
    }
    let reading = h.read();
    assert_eq!(reading.schema, 3);
    assert_eq!(
        populated(&reading),
        expected(&values, 3, DEFAULT_ZERO_THRESHOLD).1
    );
}

#[test]
fn the_bucket_limit_reduces_resolution_and_keeps_every_count() {
    let h = histogram(NativeConfig::new().max_buckets(10), &[1.0]);
    let values: Vec<f64> = (0..64).map(|i| 1.1f64.powi(i) * 0.01).collect();
    for value in &values {
        h.observe(*value);
    }
    let reading = h.read();
    assert!(reading.schema < 3);
    let native = populated(&reading);
    assert!(native.len() <= 10, "{native:?}");
    assert_eq!(
        native,
        expected(&values, reading.schema, DEFAULT_ZERO_THRESHOLD).1
    );
    // The coarsest schema that holds them: one finer would be over the limit.
    let finer = expected(&values, reading.schema + 1, DEFAULT_ZERO_THRESHOLD).1;
    assert!(finer.len() > 10);
    assert_eq!(reading.count, 64);
    assert_eq!(
        reading.classic,
        [values.iter().filter(|v| **v <= 1.0).count() as u64, 64]
    );
    // No reset configured: the resolution stays reduced.
    let later = h.scrape_at(Instant::now() + Duration::from_secs(1_000_000));
    assert_eq!(later.schema, reading.schema);
    assert_eq!(later.count, 64);
}

#[test]
fn outliers_cost_no_resolution() {
    let h = histogram(NativeConfig::new().max_buckets(40), &[]);
    let mut values = vec![1e-30, 1e30, f64::INFINITY, -1e300];
    // A bulk around 1, and outliers 2^100 away (1600 bucket numbers in schema 3), twice.
    values.extend((0..100).map(|i| 1.0 + f64::from(i) / 100.0));
    values.extend([1e-30, 1e30, f64::INFINITY, -1e300]);
    for value in &values {
        h.observe(*value);
    }
    let reading = h.read();
    assert_eq!(reading.schema, 3, "12 buckets are under the limit");
    assert_eq!(
        populated(&reading),
        expected(&values, 3, DEFAULT_ZERO_THRESHOLD).1
    );
    assert_eq!(reading.count, 108);
    // The windows hold the bulk; the outliers are counted beside them.
    assert!(h.positive.width[h.hot()].load(Ordering::Relaxed) <= 48);
    assert!(h.size() < 2000, "{} bytes", h.size());
}

#[test]
fn a_reset_comes_after_a_reading_once_due() {
    let config = NativeConfig::new()
        .max_buckets(4)
        .min_reset_duration(Duration::from_secs(60));
    let h = histogram(config, &[10.0]);
    let start = lock(&h.control).last_reset;
    let at = |seconds| start + Duration::from_secs(seconds);
    let created = h.scrape_at(at(1)).created;
    // Over the limit: the resolution is reduced, a reset due 60 s after creation.
    for i in 0..8 {
        h.observe(2f64.powi(i));
    }
    let reduced = h.scrape_at(at(30));
    assert!(reduced.schema < 3);
    assert_eq!(reduced.count, 8);
    assert_eq!(reduced.created, created);
    assert_eq!(lock(&h.control).reset_due, Some(at(60)));
    // The first reading once due still has every observation; the reset follows it.
    h.observe(0.5);
    let last = h.scrape_at(at(61));
    assert_eq!(
        (last.schema, last.count, last.created),
        (reduced.schema, 9, created)
    );
    assert_eq!(last.classic, [5, 9]);
    let reset = h.scrape_at(at(62));
    assert_eq!((reset.schema, reset.count, reset.zero_count), (3, 0, 0));
    assert!(populated(&reset).is_empty());
    assert_eq!(reset.classic, [0, 0]);
    assert_eq!(reset.sum, 0.0);
    assert!(reset.created >= created);
    assert_eq!(lock(&h.control).reset_due, None);
    // It counts again from there, in the configured schema.
    h.observe(3.0);
    let again = h.scrape_at(at(63));
    assert_eq!((again.count, again.schema), (1, 3));
    assert_eq!(populated(&again), [(false, bucket_key(3.0, 3), 1)]);
    // Over the limit more than 60 s after that reset: due at once, so reset after the
    // next reading, which has every observation.
    for i in 0..5 {
        h.observe(2f64.powi(i));
    }
    let reading = h.scrape_at(at(200));
    assert_eq!(reading.count, 6);
    assert!(reading.schema < 3);
    assert_eq!(h.scrape_at(at(201)).count, 0);
    // Without a reset configured, a reduced histogram stays reduced (see
    // `the_bucket_limit_reduces_resolution_and_keeps_every_count`).
}

#[test]
fn reads_outside_a_scrape_never_reset() {
    let config = NativeConfig::new()
        .max_buckets(4)
        .min_reset_duration(Duration::from_secs(60));
    let h = histogram(config, &[10.0]);
    let start = lock(&h.control).last_reset;
    let at = |seconds| start + Duration::from_secs(seconds);
    // Over the limit: a reset due 60 s after creation.
    for i in 0..100 {
        h.observe(2f64.powi(i % 20));
    }
    assert_eq!(h.scrape_at(at(30)).count, 100);
    for i in 0..50 {
        h.observe(2f64.powi(i % 20));
    }
    // User code reads once the reset is due (`get_sample_count`, a second exporter's
    // `read`): the reset waits for a scrape.
    assert_eq!(h.read_at(at(61), false).count, 150);
    assert_eq!(h.read().count, 150);
    assert!(lock(&h.control).reset_due.is_some());
    // The next scrape has everything observed since the last one, then takes the reset.
    assert_eq!(h.scrape_at(at(62)).count, 150);
    assert_eq!(h.scrape_at(at(63)).count, 0);
}

#[test]
fn observations_during_a_reset_reading_go_to_the_new_period() {
    let config = NativeConfig::new()
        .max_buckets(2)
        .min_reset_duration(Duration::from_secs(1));
    let h = histogram(config, &[]);
    let start = lock(&h.control).last_reset;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let observed = AtomicU64::new(0);
    let mut readings = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                h.observe(2f64.powi(i32::try_from(i % 20).unwrap()));
                observed.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        });
        // A second between readings: each reduced histogram is reset after the next one.
        let mut seen = 0;
        let readings: Vec<NativeReading> = (0..200)
            .map(|second| {
                // Observations between readings, whatever the scheduler does.
                while observed.load(Ordering::Relaxed) < seen + 50 {
                    std::thread::yield_now();
                }
                seen = observed.load(Ordering::Relaxed);
                h.scrape_at(start + Duration::from_secs(10 + second))
            })
            .collect();
        stop.store(true, Ordering::Relaxed);
        readings
    });
    readings.push(h.scrape_at(start));
    // Every observation is in the last reading of its period (readings are cumulative
    // within one): none lost to a reset, none in two periods.
    let mut exported = 0;
    let mut periods = 0;
    for (reading, next) in readings
        .iter()
        .zip(readings.iter().skip(1).map(Some).chain([None]))
    {
        if next.is_none_or(|next| next.created != reading.created) {
            exported += reading.count;
            periods += 1;
        }
    }
    assert_eq!(exported, observed.load(Ordering::Relaxed));
    assert!(periods > 1, "no reset happened");
}

#[test]
fn concurrent_observations_lose_nothing_and_readings_add_up() {
    const THREADS: u64 = 4;
    const EACH: u64 = 40_000;
    // Dyadic values, so that the sum is exact in any order; spread wide enough that the
    // windows move and the resolution is reduced while the threads observe.
    let value_of = |thread: u64, i: u64| {
        let exponent = i32::try_from((i * 7 + thread * 3) % 25).unwrap() - 8;
        let step = f64::from(u32::try_from((i * 13 + thread) % 8).unwrap());
        let sign = if (i + thread).is_multiple_of(9) {
            -1.0
        } else {
            1.0
        };
        sign * 2f64.powi(exponent) * (1.0 + step / 8.0)
    };
    let h = histogram(NativeConfig::new().max_buckets(60), &[0.5, 8.0, 1000.0]);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let readings = AtomicU64::new(0);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut last_count = 0;
            while !stop.load(Ordering::Relaxed) {
                let reading = h.read();
                let native: u64 = populated(&reading).iter().map(|(_, _, c)| c).sum();
                assert_eq!(native + reading.zero_count, reading.count);
                assert_eq!(reading.classic.last(), Some(&reading.count));
                assert!(reading.count >= last_count);
                last_count = reading.count;
                readings.fetch_add(1, Ordering::Relaxed);
            }
        });
        let writers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let (h, readings) = (&h, &readings);
                scope.spawn(move || {
                    for i in 0..EACH {
                        // Readings among the observations, whatever the scheduler does.
                        if i % 4000 == 0 {
                            while readings.load(Ordering::Relaxed) <= i / 4000 {
                                std::thread::yield_now();
                            }
                        }
                        h.observe(value_of(thread, i));
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        reader.join().unwrap();
    });
    assert!(readings.load(Ordering::Relaxed) >= EACH / 4000);
    let values: Vec<f64> = (0..THREADS)
        .flat_map(|thread| (0..EACH).map(move |i| value_of(thread, i)))
        .collect();
    let reading = h.read();
    assert_eq!(reading.count, THREADS * EACH);
    assert_eq!(reading.sum, values.iter().sum::<f64>());
    let (zero, buckets) = expected(&values, reading.schema, DEFAULT_ZERO_THRESHOLD);
    assert_eq!(reading.zero_count, zero);
    assert_eq!(populated(&reading), buckets);
    assert!(buckets.len() <= 60);
    let at_most = |bound: f64| values.iter().filter(|v| **v <= bound).count() as u64;
    assert_eq!(
        reading.classic,
        [at_most(0.5), at_most(8.0), at_most(1000.0), THREADS * EACH]
    );
}

#[test]
fn memory_per_series() {
    let empty = histogram(NativeConfig::new(), &[]);
    let size = empty.size();
    assert!(size < 600, "an empty series takes {size} bytes");
    // A latency histogram from 0.5 ms to 4 s, with the default classic buckets.
    let h = histogram(NativeConfig::new(), crate::model::DEFAULT_BUCKETS);
    for i in 0..=1000 {
        h.observe(0.0005 * 8000f64.powf(f64::from(i) / 1000.0));
    }
    let _ = h.read();
    let size = h.size();
    eprintln!(
        "an empty native series: {} bytes, one from 0.5 ms to 4 s: {size} bytes",
        empty.size()
    );
    assert!(
        (1500..3000).contains(&size),
        "a typical series takes {size} bytes"
    );
}
