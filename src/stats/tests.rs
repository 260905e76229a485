//! The reductions against plain two-pass answers (numpy's method, in f64) on anonymous arrays
//! of every order, axis, slice, window and thread count; numpy's NaN, infinity and overflow
//! answers; partial results merged and carried as bytes.

use super::*;
use crate::MmapArray;
use ndarray::{IxDyn, ShapeBuilder, s};

/// numpy's answers, computed plainly (two passes over all values, in f64).
fn plain(values: &[f64], ddof: f64) -> (f64, f64, f64, f64) {
    let n = values.len() as f64;
    // The mean as the first value plus the mean of the rest less it: exact to the last bits
    // even for a huge offset and a tiny spread.
    let x0 = values[0];
    let mean = x0 + values.iter().map(|x| x - x0).sum::<f64>() / n;
    // Corrected two-pass: the deviations' sum removes what the mean's rounding adds.
    let (d, d2) = values.iter().fold((0.0, 0.0), |(d, d2), x| {
        (d + (x - mean), d2 + (x - mean) * (x - mean))
    });
    let var = (d2 - d * d / n) / (n - ddof);
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, var.sqrt(), lo, hi)
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

/// An anonymous f64 array of `shape` (C or F order) holding `data` in logical order.
fn array(shape: &[usize], fortran: bool, data: &[f64]) -> MmapArray<f64, IxDyn> {
    let mut a = MmapArray::<f64, IxDyn>::anonymous(IxDyn(shape).set_f(fortran)).unwrap();
    for (x, v) in a.view_mut().unwrap().iter_mut().zip(data) {
        *x = *v;
    }
    a
}

/// The first result (of a 0-D result too).
fn first<X: Copy>(a: &ndarray::ArrayD<X>) -> X {
    *a.iter().next().unwrap()
}

fn floats(m: &[Option<Value>]) -> Vec<f64> {
    m.iter()
        .map(|v| v.map_or(f64::NAN, Value::as_f64))
        .collect()
}

/// `got` against plain answers of each lane of `sel` along `k`.
fn check(got: &Moments, sel: ndarray::ArrayViewD<'_, f64>, k: usize, ddof: f64, at: &str) {
    let lanes: Vec<Vec<f64>> = sel.lanes(Axis(k)).into_iter().map(|l| l.to_vec()).collect();
    let mut shape = sel.shape().to_vec();
    shape.remove(k);
    assert_eq!(got.shape(), &shape[..], "{at}");
    let (mean, std) = (got.mean(), got.std(ddof));
    let (min, max) = (got.min(), got.max());
    let (min, max) = (
        floats(min.as_slice().unwrap()),
        floats(max.as_slice().unwrap()),
    );
    for (i, l) in lanes.iter().enumerate() {
        let (m, sd, lo, hi) = plain(l, ddof);
        let (gm, gs) = (mean.as_slice().unwrap()[i], std.as_slice().unwrap()[i]);
        assert!(close(gm, m), "{at}, result {i}: mean {gm} vs {m}");
        assert!(close(gs, sd), "{at}, result {i}: std {gs} vs {sd}");
        assert_eq!((min[i], max[i]), (lo, hi), "{at}, result {i}");
        assert_eq!(got.count().as_slice().unwrap()[i], l.len() as u64, "{at}");
    }
}

fn data(len: usize) -> Vec<f64> {
    // Values of very different scales and offsets.
    (0..len)
        .map(|i| {
            let x = ((i * 7919) % 1013) as f64 / 1013.0 - 0.5;
            1e3 + x * (1.0 + (i % 3) as f64 * 1e2)
        })
        .collect()
}

#[test]
fn every_order_axis_window_and_thread_count_agrees_with_two_plain_passes() {
    let shape = [37usize, 5, 11];
    let d = data(shape.iter().product());
    for fortran in [false, true] {
        let a = array(&shape, fortran, &d);
        let row = if fortran { 37 * 5 * 8 } else { 5 * 11 * 8 };
        for k in 0..3 {
            for per in [1, 2, 3, 7, 100] {
                for threads in [1, 2, 4] {
                    let at = format!("F {fortran}, axis {k}, {per} per window, {threads} threads");
                    let st = Stats::along(k as isize)
                        .window(per * row)
                        .threads(threads)
                        .min_piece(1);
                    check(&st.of(&a).unwrap(), a.view(), k, 0.0, &at);
                }
            }
        }
        // Negative axes, and ddof.
        let m = Stats::along(-1).of(&a).unwrap();
        check(&m, a.view(), 2, 1.0, "axis -1, ddof 1");
    }
}

#[test]
fn slices_with_steps_indices_and_windows_agree() {
    let shape = [40usize, 6, 9];
    let d = data(shape.iter().product());
    let slices: Vec<Vec<SliceInfoElem>> = vec![
        s![3..37;3, .., 1..8].as_ref().to_vec(),
        s![..;-4, 2, ..].as_ref().to_vec(),
        s![-5.., ..;2, -1].as_ref().to_vec(),
        s![7, .., ..;-3].as_ref().to_vec(),
        s![.., 4, 3].as_ref().to_vec(),
        s![2..3, .., ..].as_ref().to_vec(),
    ];
    for fortran in [false, true] {
        let a = array(&shape, fortran, &d);
        for sl in &slices {
            let sel = a.view().slice_move(sl.as_slice());
            for k in 0..sel.ndim() {
                for per in [1, 4, 1000] {
                    for threads in [1, 3] {
                        let row = 6 * 9 * 8;
                        let at = format!("F {fortran}, {sl:?}, axis {k}, per {per}, {threads}");
                        let m = Stats::along(k as isize)
                            .slice(sl)
                            .window(per * row)
                            .threads(threads)
                            .min_piece(1)
                            .of(&a)
                            .unwrap();
                        check(&m, sel.view(), k, 0.0, &at);
                    }
                }
            }
        }
    }
}

#[test]
fn shares_merged_in_order_equal_the_whole_and_survive_bytes() {
    let shape = [29usize, 7];
    let d = data(shape.iter().product());
    for fortran in [false, true] {
        let a = array(&shape, fortran, &d);
        for k in 0..2 {
            let whole = Stats::along(k).of(&a).unwrap();
            for size in [1, 2, 3, 5, 40] {
                let mut all: Option<Moments> = None;
                for r in 0..size {
                    let part = Stats::along(k).share(r, size).of(&a).unwrap();
                    let part = Moments::from_bytes(&part.to_bytes()).unwrap();
                    match &mut all {
                        None => all = Some(part),
                        Some(m) => m.merge(&part).unwrap(),
                    }
                }
                let all = all.unwrap();
                let at = format!("F {fortran}, axis {k}, {size} shares");
                check(&all, a.view(), k as usize, 0.0, &at);
                assert_eq!(all.count(), whole.count(), "{at}");
            }
        }
    }
    let a = array(&[4, 4], false, &d);
    let e = Stats::along(0).share(2, 2).of(&a).unwrap_err();
    assert!(matches!(e, Error::Stats { .. }), "{e}");
}

#[test]
fn each_hands_over_results_in_order_as_windows_pass() {
    let shape = [1000usize, 3];
    let d = data(3000);
    let a = array(&shape, false, &d);
    let whole = Stats::along(1).of(&a).unwrap();
    assert!(Stats::along(1).plan(&a).unwrap().streams());
    assert!(!Stats::along(0).plan(&a).unwrap().streams());
    for threads in [1, 2] {
        let (mut parts, mut next, mut means) = (0, 0, vec![]);
        Stats::along(1)
            .window(24 * 100)
            .threads(threads)
            .min_piece(1)
            .each(&a, |first, m| {
                assert_eq!(first, next);
                next += m.len();
                parts += 1;
                means.extend(m.mean());
                Ok(())
            })
            .unwrap();
        assert_eq!(next, 1000);
        assert!(
            parts >= 10,
            "{parts} parts: results were held, not streamed"
        );
        assert_eq!(means, whole.mean().into_raw_vec_and_offset().0);
    }
    // A negative step along the streamed axis: the parts would come last first, so they come
    // at the end, in order.
    let st = Stats::along(1).slice(s![..;-1, ..]).window(2400);
    assert!(!st.plan(&a).unwrap().streams());
    let mut got = vec![];
    st.each(&a, |first, m| {
        assert_eq!(first, got.len());
        got.extend(m.mean());
        Ok(())
    })
    .unwrap();
    let mut want: Vec<f64> = whole.mean().iter().copied().collect();
    want.reverse();
    assert_eq!(got, want);
    // Not streamable (the streamed axis is reduced): one part at the end.
    let mut calls = 0;
    Stats::along(0)
        .window(2400)
        .each(&a, |first, m| {
            assert_eq!((first, m.len()), (0, 3));
            calls += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(calls, 1);
}

#[test]
fn nan_and_infinity_as_numpy() {
    let inf = f64::INFINITY;
    let a = array(
        &[3, 3],
        false,
        &[1.0, inf, inf, f64::NAN, 2.0, -inf, 3.0, 5.0, 1.0],
    );
    for threads in [1, 2] {
        let m = Stats::along(0)
            .threads(threads)
            .min_piece(1)
            .of(&a)
            .unwrap();
        let (mean, std) = (m.mean(), m.std(0.0));
        let (min, max) = (m.min(), m.max());
        // Column 0 holds a NaN: everything NaN.
        assert!(mean[0].is_nan() && std[0].is_nan());
        assert!(matches!(min[0], Some(Value::Float(x)) if x.is_nan()));
        assert!(matches!(max[0], Some(Value::Float(x)) if x.is_nan()));
        // Column 1: inf among finite values: mean inf, std NaN (inf - inf), as numpy.
        assert_eq!(mean[1], inf);
        assert!(std[1].is_nan());
        assert_eq!(max[1], Some(Value::Float(inf)));
        // Column 2: inf and -inf: mean NaN, min -inf.
        assert!(mean[2].is_nan());
        assert_eq!(min[2], Some(Value::Float(-inf)));
    }
    // A NaN anywhere in a long lane (the lane path) makes min and max NaN.
    let mut d = data(5000);
    d[4321] = f64::NAN;
    let m = Stats::along(0).of(&array(&[5000], false, &d)).unwrap();
    assert!(first(&m.mean()).is_nan() && first(&m.std(0.0)).is_nan());
    assert!(matches!(first(&m.min()), Some(Value::Float(x)) if x.is_nan()));
}

/// numpy 2.4: np.mean / np.std of these arrays (the cases and their neighbours).
#[test]
fn overflow_as_numpy() {
    let inf = f64::INFINITY;
    let alt = |n: usize| -> Vec<f64> {
        (0..n)
            .map(|i| if i % 2 == 0 { 1e308 } else { -1e308 })
            .collect()
    };
    let one = |shape: &[usize], d: &[f64], axis: isize| {
        let m = Stats::along(axis).of(&array(shape, false, d)).unwrap();
        (
            m.mean().into_raw_vec_and_offset().0,
            m.std(0.0).into_raw_vec_and_offset().0,
        )
    };
    // Ten values of 1e308: the sum overflows: mean inf, std inf.
    assert_eq!(one(&[10], &[1e308; 10], 0), (vec![inf], vec![inf]));
    assert_eq!(one(&[10, 3], &[1e308; 30], 0), (vec![inf; 3], vec![inf; 3]));
    // Alternating ±1e308: numpy's pairwise sum meets +inf and -inf from 16 values on.
    for n in [16, 100, 1000] {
        let (mean, std) = one(&[n], &alt(n), 0);
        assert!(mean[0].is_nan() && std[0].is_nan(), "{n}: {mean:?} {std:?}");
    }
    // Below that it cancels: mean 0, and the squared deviations overflow: std inf.
    for n in [2, 10] {
        assert_eq!(one(&[n], &alt(n), 0), (vec![0.0], vec![inf]), "{n}");
    }
    // numpy sums a column of a C-order array in order: +1e308 + 1e308 ... overflows.
    let (mean, std) = one(&[8, 2], &alt(16), 0);
    assert_eq!((mean, std), (vec![inf, -inf], vec![inf, inf]));
    assert_eq!(one(&[8, 2], &alt(16), 1).0, vec![0.0; 8]);
    // A single column is one contiguous lane: pairwise, NaN.
    assert!(one(&[16, 1], &alt(16), 0).0[0].is_nan());
    // 1e308 - 1e308 + 1e308, in order: 1e308 / 3.
    assert_eq!(one(&[3], &[1e308, -1e308, 1e308], 0).0, vec![1e308 / 3.0]);
}

#[test]
fn integers_exactly_and_booleans_as_booleans() {
    let mut a = MmapArray::<i64, IxDyn>::anonymous(IxDyn(&[4, 2])).unwrap();
    a.view_mut()
        .unwrap()
        .iter_mut()
        .zip([i64::MAX, 1, i64::MAX, -1, i64::MIN, 0, 3, 5])
        .for_each(|(x, v)| *x = v);
    let m = Stats::along(0).of(&a).unwrap();
    let want = i128::from(i64::MAX) * 2 + i128::from(i64::MIN) + 3;
    assert_eq!(m.sum_values()[0], Value::Int(want));
    assert_eq!(m.min()[0], Some(Value::Int(i64::MIN.into())));
    assert_eq!(m.max()[0], Some(Value::Int(i64::MAX.into())));
    assert_eq!(m.mean()[0], want as f64 / 4.0);
    assert_eq!(m.sum()[1], 5.0);
    let mut b = MmapArray::<Bool, IxDyn>::anonymous(IxDyn(&[3])).unwrap();
    b.view_mut().unwrap()[1] = Bool(1);
    let m = Stats::along(0).of(&b).unwrap();
    assert_eq!(
        (first(&m.min()), first(&m.max())),
        (Some(Value::Bool(false)), Some(Value::Bool(true)))
    );
    assert_eq!(first(&m.mean()), 1.0 / 3.0);
    // Moments of booleans and of integers do not merge.
    let mut ints = MmapArray::<i64, IxDyn>::anonymous(IxDyn(&[3])).unwrap();
    ints.view_mut().unwrap().fill(1);
    let mut x = Stats::along(0).of(&ints).unwrap();
    assert!(matches!(x.merge(&m), Err(Error::Stats { .. })));
}

#[test]
fn empty_results_and_empty_axes() {
    let a = array(&[0, 3], false, &[]);
    let m = Stats::along(0).of(&a).unwrap();
    assert_eq!(m.count().into_raw_vec_and_offset().0, vec![0; 3]);
    assert!(m.mean().iter().all(|x| x.is_nan()));
    assert!(m.min().iter().all(Option::is_none));
    let m = Stats::along(1).of(&a).unwrap();
    assert_eq!(m.shape(), &[0]);
    // Results of no values, handed over as windows pass: every one of them, NaN.
    let b = array(&[1000, 3], false, &data(3000));
    let st = Stats::along(1).slice(s![.., 0..0]).window(800);
    assert!(st.plan(&b).unwrap().streams());
    let mut seen = 0;
    st.each(&b, |first, m| {
        assert_eq!(first, seen);
        assert!(m.mean().iter().all(|x| x.is_nan()));
        seen += m.len();
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, 1000);
    assert_eq!(st.of(&b).unwrap().count().len(), 1000);
}

#[test]
fn bad_requests_are_errors() {
    let a = array(&[4, 5], false, &data(20));
    for (st, needle) in [
        (
            Stats::along(2),
            "axis 2 is out of bounds for the 2-dimensional array",
        ),
        (Stats::along(-3), "axis -3"),
        (Stats::along(0).slice(s![1, 2]), "single element"),
        (Stats::along(0).slice(s![..9, ..]), ""),
    ] {
        let e = st.of(&a).unwrap_err();
        assert!(e.to_string().contains(needle), "{e}");
    }
    let z = MmapArray::<f64, IxDyn>::anonymous(IxDyn(&[])).unwrap();
    assert!(Stats::along(0).of(&z).is_err());
}

#[test]
fn hostile_bytes_are_errors() {
    let a = array(&[4, 5], false, &data(20));
    let good = Stats::along(0).of(&a).unwrap().to_bytes();
    for cut in [0, 5, 12, 13, 20, good.len() - 1] {
        assert!(Moments::from_bytes(&good[..cut]).is_err(), "cut at {cut}");
    }
    let mut huge = good.clone();
    huge[13..21].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(Moments::from_bytes(&huge).is_err());
    let mut kind = good.clone();
    kind[8] = 9;
    assert!(Moments::from_bytes(&kind).is_err());
    let mut longer = good;
    longer.push(0);
    assert!(Moments::from_bytes(&longer).is_err());
    let mut x = Stats::along(0).of(&a).unwrap();
    let y = Stats::along(1).of(&a).unwrap();
    assert!(matches!(x.merge(&y), Err(Error::Stats { .. })));
}

#[test]
fn mean_and_std_of_a_column_of_huge_offset_and_tiny_spread() {
    // 1e9 + small values: the shifted means keep the spread's digits.
    let d: Vec<f64> = (0..30_000)
        .map(|i| 1e9 + ((i * 31) % 97) as f64 * 1e-3)
        .collect();
    let a = array(&[10_000, 3], false, &d);
    for threads in [1, 2, 4] {
        let m = Stats::along(0)
            .window(8 * 3 * 77)
            .threads(threads)
            .min_piece(1)
            .of(&a)
            .unwrap();
        check(&m, a.view(), 0, 0.0, &format!("{threads} threads"));
    }
}
