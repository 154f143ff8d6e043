use super::*;

#[test]
fn buckets_are_cumulative_and_sums_exact() {
    let cells = CallCells::new(&[0.001, 0.01], 0, None);
    let stripe = cells.stripe();
    cells.record(stripe, Outcome::Ok, 500_000);
    cells.record(stripe, Outcome::Ok, 1_000_000);
    cells.record(stripe, Outcome::Error, 5_000_000);
    cells.record(stripe, Outcome::Ok, 20_000_000);
    let readings = Readings::take([&cells]);
    let reading = readings.get(0);
    assert_eq!(reading.buckets(), [2, 3, 4]);
    assert_eq!(reading.sum_nanos(), 26_500_000);
    assert_eq!(reading.calls(Outcome::Ok), 3);
    assert_eq!(reading.calls(Outcome::Error), 1);
}

#[test]
fn concurrent_records_lose_nothing() {
    const THREADS: u64 = 4;
    const CALLS: u64 = 50_000;
    let cells = CallCells::new(&[0.000_001, 0.001], 0, None);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let cells = &cells;
            scope.spawn(move || {
                for call in 0..CALLS {
                    let stripe = cells.stripe();
                    let outcome = if call % 3 == 0 {
                        Outcome::Error
                    } else {
                        Outcome::Ok
                    };
                    cells.enter(stripe);
                    cells.record(stripe, outcome, thread * 1_000 + call % 7);
                    cells.leave(stripe);
                }
            });
        }
    });
    let readings = Readings::take([&cells]);
    let reading = readings.get(0);
    let sum = reading.sum_nanos();
    let buckets = reading.buckets();
    let expected_sum: u64 = (0..THREADS)
        .map(|thread| {
            (0..CALLS)
                .map(|call| thread * 1_000 + call % 7)
                .sum::<u64>()
        })
        .sum();
    assert_eq!(sum, expected_sum, "the sum is exact");
    assert_eq!(
        buckets.last().copied(),
        Some(THREADS * CALLS),
        "the count is every call"
    );
    let errors = (0..CALLS).filter(|call| call % 3 == 0).count() as u64 * THREADS;
    assert_eq!(reading.calls(Outcome::Error), errors);
    assert_eq!(reading.calls(Outcome::Ok), THREADS * CALLS - errors);
    assert_eq!(reading.in_flight(), 0);
}

#[test]
fn kinds_are_counted_beside_the_buckets() {
    let cells = CallCells::new(&[0.001], 3, None);
    let stripe = cells.stripe();
    cells.record(stripe, Outcome::Error, 10);
    cells.count_kind(stripe, 2);
    cells.count_kind(stripe, 2);
    cells.count_kind(stripe, 0);
    cells.count_kind(stripe, 7); // not a kind of these cells: ignored
    let readings = Readings::take([&cells, &CallCells::new(&[0.5, 1.0], 0, None)]);
    let reading = readings.get(0);
    assert_eq!(
        [reading.kind(0), reading.kind(1), reading.kind(2)],
        [1, 0, 2]
    );
    assert_eq!(reading.calls(Outcome::Error), 1);
    assert_eq!(readings.get(1).buckets(), [0, 0, 0]);
}

#[test]
fn in_flight_sums_across_stripes() {
    let cells = CallCells::new(&[1.0], 0, None);
    cells.enter(0);
    cells.enter(0);
    cells.leave(cells.stride * cells.mask);
    assert_eq!(cells.in_flight(), 1);
    assert_eq!(Readings::take([&cells]).get(0).in_flight(), 1);
}

/// Every stripe of striped cells starts a 128-byte line, and the cells' fields (the clock
/// every call reads) are on no line of a stripe: a thread writing its stripe shares no
/// line with another thread's, nor with what every thread reads.
#[test]
fn stripes_have_their_lines_to_themselves() {
    let calls = CallCells::new(crate::model::DEFAULT_BUCKETS, 2, None);
    let values = ValueCells::new(10, true);
    let histograms = HistogramCells::new(3, &[0.1, 1.0], None);
    let starts = [
        (calls.slots.as_ptr() as usize, calls.stride, calls.mask),
        (values.slots.as_ptr() as usize, values.stride, values.mask),
        (
            histograms.slots.as_ptr() as usize,
            histograms.stride,
            histograms.mask,
        ),
    ];
    assert!(stripes::count() == 1 || starts.iter().all(|(_, _, mask)| *mask > 0));
    for (start, stride, mask) in starts {
        for stripe in 0..=mask {
            if mask > 0 {
                assert_eq!((start + stripe * stride * 8) % 128, 0);
            }
        }
    }
    // The cells of a site's combinations, in one allocation, beside their slots.
    let site = CallCells::of_site(crate::model::DEFAULT_BUCKETS, 0, None, 3);
    for cells in &site {
        if cells.mask == 0 {
            continue;
        }
        let first = cells.slots.as_ptr() as usize;
        let lines = first / 128..(first + (cells.mask + 1) * cells.stride * 8).div_ceil(128);
        for other in &site {
            let fields = std::ptr::from_ref(other) as usize;
            let last = fields + std::mem::size_of::<CallCells>() - 1;
            assert!(!lines.contains(&(fields / 128)) && !lines.contains(&(last / 128)));
        }
    }
}

#[test]
fn memory_per_site_is_bounded() {
    let one = CallCells::new(crate::model::DEFAULT_BUCKETS, 0, None);
    assert_eq!(
        one.mask + 1,
        stripes::count(),
        "one combination: a stripe per CPU"
    );
    let many = CallCells::of_site(crate::model::DEFAULT_BUCKETS, 0, None, 10_000);
    assert_eq!(many.len(), 10_000);
    assert_eq!(many[0].mask, 0, "10,000 combinations: one stripe each");
    assert_eq!(many[0].slots.bytes(), 400);
    assert!(
        Arc::ptr_eq(&many[0].bounds, &many[9_999].bounds),
        "one copy of the bounds"
    );
}

#[test]
fn a_reading_adds_up_while_calls_are_recorded() {
    let cells = CallCells::new(&[0.000_001, 0.001], 0, None);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            for call in 0..200_000_u64 {
                let outcome = Outcome::ALL[usize::try_from(call % 4).unwrap()];
                cells.record(cells.stripe(), outcome, call % 5_000);
            }
        });
        while !writer.is_finished() {
            let readings = Readings::take([&cells]);
            let reading = readings.get(0);
            let outcomes: u64 = Outcome::ALL.iter().map(|o| reading.calls(*o)).sum();
            assert_eq!(Some(&outcomes), reading.buckets().last());
        }
    });
}
