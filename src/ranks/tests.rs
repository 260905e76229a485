use super::*;
use crate::MmapArray;
use crate::stats::Stats;
use ndarray::Ix2;
use std::sync::mpsc::{Receiver, Sender, channel};

/// A rank as a thread, messages over channels (unbounded: a send never blocks, so a test that
/// ends shows every receive found its message).
struct Thread {
    rank: usize,
    max: usize,
    to: Vec<Sender<Vec<u8>>>,
    from: Vec<Receiver<Vec<u8>>>,
}

impl Link for Thread {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.to.len()
    }
    fn max_message(&self) -> usize {
        self.max
    }
    fn send(&self, to: usize, bytes: &[u8]) {
        assert!(bytes.len() <= self.max, "a message longer than max_message");
        self.to[to].send(bytes.to_vec()).unwrap();
    }
    fn receive(&self, from: usize, buf: &mut [u8]) {
        let m = self.from[from].recv().unwrap();
        assert_eq!(m.len(), buf.len(), "a message of another length");
        buf.copy_from_slice(&m);
    }
}

/// `f(link)` on `size` threads, one per rank, messages of at most `max` bytes: every rank's
/// answer.
fn on_threads<R: Send>(size: usize, max: usize, f: impl Fn(&Thread) -> R + Sync) -> Vec<R> {
    // to[a][b] sends from a to b; from[b][a] receives it.
    let mut to: Vec<Vec<Sender<Vec<u8>>>> = (0..size).map(|_| Vec::new()).collect();
    let mut from: Vec<Vec<Receiver<Vec<u8>>>> = (0..size).map(|_| Vec::new()).collect();
    for senders in to.iter_mut() {
        for receivers in from.iter_mut() {
            let (tx, rx) = channel();
            senders.push(tx);
            receivers.push(rx);
        }
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = to
            .into_iter()
            .zip(from)
            .enumerate()
            .map(|(rank, (to, from))| {
                let link = Thread {
                    rank,
                    max,
                    to,
                    from,
                };
                s.spawn(move || f(&link))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// [`tree_reduce`] on `size` threads, rank `r` holding `mine(r)`, merging by `merge` on each
/// rank: every rank's result, errors as text.
fn run(
    size: usize,
    max: usize,
    mine: impl Fn(usize) -> Vec<u8> + Sync,
    merge: impl Fn(usize, Vec<u8>, &[u8]) -> Result<Vec<u8>> + Sync,
) -> Vec<std::result::Result<Option<Vec<u8>>, String>> {
    on_threads(size, max, |link| {
        let r = link.rank;
        tree_reduce(link, mine(r), |a, b| merge(r, a, b)).map_err(|e| e.to_string())
    })
}

fn concat(_: usize, mut a: Vec<u8>, b: &[u8]) -> Result<Vec<u8>> {
    a.extend_from_slice(b);
    Ok(a)
}

fn fail(why: String) -> Error {
    Error::Stats { why }
}

#[test]
fn ranks_merge_in_rank_order_in_pieces_of_any_size() {
    for size in 1..=9 {
        for max in [1, 2, 3, 1000] {
            // Rank r holds r + 1 bytes of value r: lengths differ, and one rank holds none.
            let mine = |r: usize| if r == 3 { vec![] } else { vec![r as u8; r + 1] };
            let got = run(size, max, mine, concat);
            let want: Vec<u8> = (0..size).flat_map(mine).collect();
            assert_eq!(got[0], Ok(Some(want)), "{size} ranks, pieces of {max}");
            assert!(got[1..].iter().all(|g| *g == Ok(None)), "{size}: {got:?}");
        }
    }
}

#[test]
fn a_failed_merge_ends_every_rank_and_rank_0_says_which() {
    // In a tree of 8, rank 4 merges rank 5's bytes at the first step: make that fail.
    let merge = |r: usize, a: Vec<u8>, b: &[u8]| {
        if b.first() == Some(&5) {
            return Err(fail(format!("cannot merge on rank {r}")));
        }
        concat(r, a, b)
    };
    let got = on_threads(8, 2, |link| {
        let r = link.rank;
        tree_reduce(link, vec![r as u8; 3], |a, b| merge(r, a, b))
    });
    match &got[0] {
        Err(Error::Rank {
            rank: 4,
            size: 8,
            why,
        }) => {
            assert_eq!(why, "statistics: cannot merge on rank 4");
        }
        other => panic!("rank 0: {other:?}"),
    }
    assert_eq!(
        got[0].as_ref().unwrap_err().to_string(),
        "rank 4 of 8: statistics: cannot merge on rank 4"
    );
    assert!(matches!(
        got[4],
        Err(Error::RankFailed { rank: 4, size: 8 })
    ));
    for r in [1, 2, 3, 5, 6, 7] {
        assert!(matches!(got[r], Ok(None)), "rank {r}: {:?}", got[r]);
    }
    // Rank 0's own merge failing is rank 0's to say too.
    let merge = |r: usize, a: Vec<u8>, b: &[u8]| {
        if r == 0 && b.first() == Some(&2) {
            return Err(fail("no".into()));
        }
        concat(r, a, b)
    };
    let got = run(3, 1000, |r| vec![r as u8], merge);
    assert_eq!(got[0], Err("rank 0 of 3: statistics: no".to_string()));
    assert_eq!(&got[1..], &[Ok(None), Ok(None)]);
}

#[test]
fn moments_of_shares_reduce_to_those_of_the_whole() {
    let mut a = MmapArray::<f64, Ix2>::anonymous((11, 3)).unwrap();
    for (i, x) in a.view_mut().unwrap().iter_mut().enumerate() {
        *x = (i * 7 % 13) as f64 - 4.5;
    }
    let whole = Stats::along(0).of(&a).unwrap();
    for size in 1..=5 {
        let got = on_threads(size, 16, |link| {
            let mine = Stats::along(0).share(link.rank, size).of(&a).unwrap();
            mine.reduce(link).unwrap()
        });
        let all = got[0].as_ref().expect("rank 0 has the merged moments");
        assert_eq!(all.count(), whole.count(), "{size} ranks");
        assert_eq!(all.min(), whole.min());
        assert_eq!(all.max(), whole.max());
        for (x, y) in all.mean().iter().zip(whole.mean().iter()) {
            assert!((x - y).abs() < 1e-12, "{size} ranks: {x} != {y}");
        }
        assert!(got[1..].iter().all(Option::is_none));
    }
    // Moments of another shape: rank 0 names the rank whose merge failed.
    let got = on_threads(2, 1000, |link| {
        let axis = if link.rank == 1 { 1 } else { 0 };
        Stats::along(axis).of(&a).unwrap().reduce(link)
    });
    assert!(
        matches!(&got[0], Err(Error::Rank { rank: 0, size: 2, why }) if why.contains("cannot merge")),
        "{:?}",
        got[0]
    );
}

#[test]
fn residency_gathers_in_rank_order() {
    for size in 1..=6 {
        let got = on_threads(size, 7, |link| {
            let r = link.rank;
            let res = (r != 2).then_some(Residency {
                resident: r,
                total: 10 + r,
            });
            gather_residency(link, 10 * r..10 * r + 10, res).unwrap()
        });
        let all = got[0].as_ref().expect("rank 0 has every rank's record");
        assert_eq!(all.len(), size);
        for (r, s) in all.iter().enumerate() {
            assert_eq!(s.rows, 10 * r..10 * r + 10);
            let res = s.residency.map(|x| (x.resident, x.total));
            assert_eq!(res, (r != 2).then_some((r, 10 + r)));
        }
        assert!(got[1..].iter().all(Option::is_none));
    }
}
