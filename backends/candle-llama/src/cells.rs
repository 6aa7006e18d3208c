//! Bookkeeping of a unified KV cache: which cache cell holds which position of which
//! sequences. A cell written once may belong to many sequences (a prompt prefix shared by
//! every query), so copying a sequence is metadata only. The tensors live in the model;
//! this module decides where a batch's keys go and which cells each token may attend to.

/// Most sequences a context may hold (one bit each).
pub const MAX_SEQUENCES: usize = 64;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Cell {
    /// Position of the token whose keys the cell holds (meaningless when `seqs` is 0).
    pos: i32,
    /// Bit `s` set: the cell belongs to sequence `s`. 0: the cell is free.
    seqs: u64,
}

/// The cells of one context.
#[derive(Debug, Clone)]
pub struct Cells {
    cells: Vec<Cell>,
    /// One past the last cell in use: attention reads cells `0..used`.
    used: usize,
    n_seq: usize,
}

/// One token of a batch, as the cache sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot {
    /// Sequence id.
    pub seq: i32,
    /// Position in the sequence.
    pub pos: i32,
}

impl Cells {
    /// A cache of `n_cells` cells for sequences `0..n_seq`.
    pub fn new(n_cells: usize, n_seq: usize) -> Result<Cells, String> {
        if n_seq == 0 || n_seq > MAX_SEQUENCES {
            return Err(format!("n_seq_max {n_seq} is outside 1..={MAX_SEQUENCES}"));
        }
        Ok(Cells { cells: vec![Cell::default(); n_cells], used: 0, n_seq })
    }

    /// Number of cells.
    pub fn capacity(&self) -> usize {
        self.cells.len()
    }

    /// One past the last cell in use.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Checks a sequence id.
    pub fn check_seq(&self, seq: i32) -> Result<(), String> {
        if seq < 0 || seq as usize >= self.n_seq {
            return Err(format!("sequence id {seq} is outside 0..{}", self.n_seq));
        }
        Ok(())
    }

    fn in_range(pos: i32, p0: i32, p1: i32) -> bool {
        pos >= p0.max(0) && (p1 < 0 || pos < p1)
    }

    /// Places a batch in the first run of free cells long enough for it (so that its keys
    /// are written with one copy per layer) and returns the run's first cell. Checks that
    /// no sequence already holds a token at the same position.
    pub fn place(&mut self, slots: &[Slot]) -> Result<usize, String> {
        let mut seen = std::collections::HashSet::new();
        let mut batch_seqs = 0u64;
        for s in slots {
            self.check_seq(s.seq)?;
            if s.pos < 0 {
                return Err(format!("position {} of sequence {} is negative", s.pos, s.seq));
            }
            if !seen.insert((s.seq, s.pos)) {
                return Err(format!("the batch holds position {} of sequence {} twice", s.pos, s.seq));
            }
            batch_seqs |= 1u64 << s.seq;
        }
        // One pass over the cells (not one per token): a cell of a batch sequence at a
        // position the batch also holds is a clash.
        for c in &self.cells[..self.used] {
            let mut shared = c.seqs & batch_seqs;
            while shared != 0 {
                let seq = shared.trailing_zeros() as i32;
                if seen.contains(&(seq, c.pos)) {
                    return Err(format!("sequence {seq} already holds position {}", c.pos));
                }
                shared &= shared - 1;
            }
        }
        let n = slots.len();
        let mut run = 0;
        let mut start = None;
        for (i, c) in self.cells.iter().enumerate() {
            run = if c.seqs == 0 { run + 1 } else { 0 };
            if run == n {
                start = Some(i + 1 - n);
                break;
            }
        }
        let start = start.ok_or_else(|| {
            let free = self.cells.iter().filter(|c| c.seqs == 0).count();
            format!("the KV cache has no run of {n} free cells ({free} of {} free): raise n_ctx or evaluate less at once", self.cells.len())
        })?;
        for (k, s) in slots.iter().enumerate() {
            self.cells[start + k] = Cell { pos: s.pos, seqs: 1u64 << s.seq };
        }
        self.used = self.used.max(start + n);
        Ok(start)
    }

    /// The additive attention mask of a batch placed by [`place`](Self::place), row-major
    /// `slots.len() x used()`: 0 where a token may attend to a cell (same sequence, position
    /// not after its own), negative infinity elsewhere.
    pub fn mask(&self, slots: &[Slot]) -> Vec<f32> {
        let mut m = vec![f32::NEG_INFINITY; slots.len() * self.used];
        for (t, s) in slots.iter().enumerate() {
            let bit = 1u64 << s.seq;
            let row = &mut m[t * self.used..(t + 1) * self.used];
            for (c, cell) in self.cells[..self.used].iter().enumerate() {
                if cell.seqs & bit != 0 && cell.pos <= s.pos {
                    row[c] = 0.0;
                }
            }
        }
        m
    }

    /// Makes `dst` share `src`'s cells at positions `[p0, p1)` (`p1 < 0`: open-ended).
    pub fn copy(&mut self, src: i32, dst: i32, p0: i32, p1: i32) -> Result<(), String> {
        self.check_seq(src)?;
        self.check_seq(dst)?;
        let (s, d) = (1u64 << src, 1u64 << dst);
        for c in &mut self.cells[..self.used] {
            if c.seqs & s != 0 && Self::in_range(c.pos, p0, p1) {
                c.seqs |= d;
            }
        }
        Ok(())
    }

    /// Removes positions `[p0, p1)` (`p1 < 0`: open-ended) from sequence `seq` (`seq < 0`:
    /// from every sequence). Cells no sequence holds any more become free.
    pub fn remove(&mut self, seq: i32, p0: i32, p1: i32) -> Result<(), String> {
        let mask = if seq < 0 {
            u64::MAX
        } else {
            self.check_seq(seq)?;
            1u64 << seq
        };
        for c in &mut self.cells[..self.used] {
            if Self::in_range(c.pos, p0, p1) {
                c.seqs &= !mask;
            }
        }
        self.used = self.cells[..self.used].iter().rposition(|c| c.seqs != 0).map_or(0, |i| i + 1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(seq: i32, range: std::ops::Range<i32>) -> Vec<Slot> {
        range.map(|pos| Slot { seq, pos }).collect()
    }

    #[test]
    fn a_shared_prefix_is_seen_by_every_copy_and_queries_do_not_see_each_other() {
        let mut c = Cells::new(16, 4).unwrap();
        assert_eq!(c.place(&slots(0, 0..3)).unwrap(), 0);
        c.copy(0, 1, 0, -1).unwrap();
        c.copy(0, 2, 0, -1).unwrap();
        let batch = [slots(1, 3..5), slots(2, 3..4)].concat();
        assert_eq!(c.place(&batch).unwrap(), 3);
        assert_eq!(c.used(), 6);
        let m = c.mask(&batch);
        let row = |t: usize| m[t * 6..(t + 1) * 6].iter().map(|&x| x == 0.0).collect::<Vec<_>>();
        assert_eq!(row(0), [true, true, true, true, false, false]); // seq 1, pos 3
        assert_eq!(row(1), [true, true, true, true, true, false]); // seq 1, pos 4
        assert_eq!(row(2), [true, true, true, false, false, true]); // seq 2, pos 3
    }

    #[test]
    fn removing_sequences_frees_their_cells_for_the_next_batch() {
        let mut c = Cells::new(8, 4).unwrap();
        c.place(&slots(0, 0..2)).unwrap();
        c.copy(0, 1, -1, -1).unwrap();
        c.place(&slots(1, 2..6)).unwrap();
        assert_eq!(c.used(), 6);
        c.remove(1, -1, -1).unwrap();
        assert_eq!(c.used(), 2, "the prefix stays, held by sequence 0");
        assert_eq!(c.place(&slots(2, 2..8)).unwrap(), 2);
        c.remove(-1, 0, -1).unwrap();
        assert_eq!(c.used(), 0);
    }

    #[test]
    fn partial_removal_and_copy_respect_position_ranges() {
        let mut c = Cells::new(8, 2).unwrap();
        c.place(&slots(0, 0..4)).unwrap();
        c.copy(0, 1, 1, 3).unwrap();
        let probe = [Slot { seq: 1, pos: 10 }];
        c.place(&probe).unwrap();
        let m = c.mask(&probe);
        assert_eq!(m.iter().map(|&x| x == 0.0).collect::<Vec<_>>(), [false, true, true, false, true]);
        c.remove(0, 2, -1).unwrap();
        c.remove(1, -1, -1).unwrap();
        assert_eq!(c.used(), 2);
    }

    #[test]
    fn bad_requests_are_refused_with_the_reason() {
        let mut c = Cells::new(4, 2).unwrap();
        assert!(Cells::new(4, 65).unwrap_err().contains("n_seq_max 65"));
        assert!(c.place(&slots(2, 0..1)).unwrap_err().contains("sequence id 2"));
        assert!(c.place(&[Slot { seq: 0, pos: -1 }]).unwrap_err().contains("negative"));
        assert!(c.place(&[Slot { seq: 0, pos: 1 }, Slot { seq: 0, pos: 1 }]).unwrap_err().contains("twice"));
        c.place(&slots(0, 0..3)).unwrap();
        assert!(c.place(&slots(0, 2..3)).unwrap_err().contains("already holds position 2"));
        let e = c.place(&slots(1, 0..2)).unwrap_err();
        assert!(e.contains("no run of 2 free cells (1 of 4 free)"), "{e}");
        assert!(c.copy(0, 5, 0, -1).is_err() && c.remove(7, 0, -1).is_err());
    }
}
