//! Exact min/max pyramids over one-dimensional blocks of samples.
//!
//! A pyramid has levels `0..L`, coarsest first. Level `k` groups the samples in bins of
//! `bins[k]` samples, and every bin size is an integer multiple of the next finer one, so
//! bins nest. Bin `i` of level `k` holds the minimum and the maximum of
//! `x[i * bins[k] .. min((i + 1) * bins[k], x.len())]`: the last bin may be partial and is
//! kept.
//!
//! The finest level is computed from the samples in one pass; every coarser level is
//! reduced from the level below it, which costs `1 / bins[L - 1]` of the first pass.
//!
//! For floating-point samples NaN is ignored; a bin of only NaN gives NaN.
//!
//! Streaming: a long segment is fed block by block. When every block but the last starts
//! at a multiple of `bins[0]` and has a length that is a multiple of `bins[0]`, the
//! concatenated outputs of the blocks equal the pyramid of the whole segment.

use rayon::prelude::*;

/// A sample type the pyramid kernels accept.
///
/// `MIN_INIT` and `MAX_INIT` are the identities of `min2` and `max2`: the dtype's maximum
/// and minimum for integers, NaN for floats (so that an all-NaN bin stays NaN).
pub trait Sample: Copy + Send + Sync + PartialOrd + 'static {
    /// Identity of [`Sample::min2`].
    const MIN_INIT: Self;
    /// Identity of [`Sample::max2`].
    const MAX_INIT: Self;
    /// The smaller of two values; for floats a NaN operand is ignored.
    fn min2(self, other: Self) -> Self;
    /// The larger of two values; for floats a NaN operand is ignored.
    fn max2(self, other: Self) -> Self;
}

/// The one list of supported sample types and their numpy names, in the order
/// [`DTYPE_NAMES`] gives them. `for_each_sample!(m)` expands to
/// `m! { int i8 "int8", ..., float f64 "float64" }`: the [`Sample`] impls, [`DTYPE_NAMES`]
/// and the Python bindings' dispatch on the array's dtype are all made from it.
macro_rules! for_each_sample {
    ($m:ident) => {
        $m! {
            int i8 "int8",
            int u8 "uint8",
            int i16 "int16",
            int u16 "uint16",
            int i32 "int32",
            int u32 "uint32",
            int i64 "int64",
            int u64 "uint64",
            float f32 "float32",
            float f64 "float64"
        }
    };
}

pub(crate) use for_each_sample;

macro_rules! impl_sample {
    (int $t:ident) => {
        impl Sample for $t {
            const MIN_INIT: Self = <$t>::MAX;
            const MAX_INIT: Self = <$t>::MIN;
            #[inline(always)]
            fn min2(self, other: Self) -> Self {
                if other < self {
                    other
                } else {
                    self
                }
            }
            #[inline(always)]
            fn max2(self, other: Self) -> Self {
                if other > self {
                    other
                } else {
                    self
                }
            }
        }
    };
    (float $t:ident) => {
        impl Sample for $t {
            const MIN_INIT: Self = <$t>::NAN;
            const MAX_INIT: Self = <$t>::NAN;
            #[inline(always)]
            fn min2(self, other: Self) -> Self {
                // IEEE minNum: returns the non-NaN operand when one of them is NaN.
                <$t>::min(self, other)
            }
            #[inline(always)]
            fn max2(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
        }
    };
}

macro_rules! samples {
    ($($kind:ident $t:ident $name:literal),* $(,)?) => {
        $(impl_sample!($kind $t);)*

        /// The numpy names of the sample types the kernels accept.
        pub const DTYPE_NAMES: &[&str] = &[$($name),*];
    };
}

for_each_sample!(samples);

/// Why a pyramid cannot be computed with the given arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyramidError {
    /// No levels were given.
    NoLevels,
    /// A bin size of zero.
    ZeroBin,
    /// `bins[k]` is not a multiple of `bins[k + 1]` (coarsest first).
    NotNested { level: usize, bin: usize, finer: usize },
    /// An output row has the wrong length.
    OutputLength { level: usize, expected: usize, got: usize },
    /// The number of output levels differs from the number of bin sizes.
    OutputLevels { expected: usize, got: usize },
}

impl std::fmt::Display for PyramidError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoLevels => write!(f, "bins must name at least one level"),
            Self::ZeroBin => write!(f, "bin sizes must be positive"),
            Self::NotNested { level, bin, finer } => write!(
                f,
                "bins must be listed coarsest first, each a multiple of the next: \
                 bins[{level}] = {bin} is not a multiple of bins[{}] = {finer}",
                level + 1
            ),
            Self::OutputLength { level, expected, got } => {
                write!(f, "output for level {level} must hold {expected} bins per row, not {got}")
            }
            Self::OutputLevels { expected, got } => {
                write!(f, "expected {expected} output levels, got {got}")
            }
        }
    }
}

impl std::error::Error for PyramidError {}

/// Number of bins of size `bin` that cover `n` samples (the last one may be partial).
///
/// `bin` must be positive; [`bin_count`] checks it.
#[inline]
pub fn n_bins(n: usize, bin: usize) -> usize {
    n.div_ceil(bin)
}

/// [`n_bins`], or [`PyramidError::ZeroBin`] for a bin of no samples.
pub fn bin_count(n: usize, bin: usize) -> Result<usize, PyramidError> {
    if bin == 0 {
        return Err(PyramidError::ZeroBin);
    }
    Ok(n_bins(n, bin))
}

/// Checks that `bins` is non-empty, positive, and nested coarsest first.
pub fn validate_bins(bins: &[usize]) -> Result<(), PyramidError> {
    if bins.is_empty() {
        return Err(PyramidError::NoLevels);
    }
    if bins.contains(&0) {
        return Err(PyramidError::ZeroBin);
    }
    for (level, pair) in bins.windows(2).enumerate() {
        if pair[0] % pair[1] != 0 {
            return Err(PyramidError::NotNested { level, bin: pair[0], finer: pair[1] });
        }
    }
    Ok(())
}

/// One output level: the minimum row and the maximum row, `n_bins(len, bin)` long each.
pub struct LevelOut<'a, T> {
    /// Minima, one per bin.
    pub min: &'a mut [T],
    /// Maxima, one per bin.
    pub max: &'a mut [T],
}

/// Minimum and maximum of one bin, with `L` lane-wise accumulators the compiler
/// vectorises; the lanes are reduced once at the end of the bin.
#[inline(always)]
fn bin_minmax<T: Sample, const L: usize>(x: &[T]) -> (T, T) {
    let mut lo = [T::MIN_INIT; L];
    let mut hi = [T::MAX_INIT; L];
    let mut chunks = x.chunks_exact(L);
    for chunk in &mut chunks {
        for i in 0..L {
            lo[i] = lo[i].min2(chunk[i]);
            hi[i] = hi[i].max2(chunk[i]);
        }
    }
    let mut mn = T::MIN_INIT;
    let mut mx = T::MAX_INIT;
    for &v in chunks.remainder() {
        mn = mn.min2(v);
        mx = mx.max2(v);
    }
    for i in 0..L {
        mn = mn.min2(lo[i]);
        mx = mx.max2(hi[i]);
    }
    (mn, mx)
}

/// The finest level with `L` lanes per bin.
#[inline(always)]
fn finest_lanes<T: Sample, const L: usize>(x: &[T], bin: usize, min: &mut [T], max: &mut [T]) {
    for ((chunk, lo), hi) in x.chunks(bin).zip(min.iter_mut()).zip(max.iter_mut()) {
        let (a, b) = bin_minmax::<T, L>(chunk);
        *lo = a;
        *hi = b;
    }
}

/// Samples per block of the pairwise reduction: small enough to stay in L1.
const PAIR_BLOCK: usize = 1024;

/// Pairwise min and max of neighbours: `lo[i] = min(src[2i], src[2i+1])`.
#[inline(always)]
fn pair_step<T: Sample>(src_lo: &[T], src_hi: &[T], lo: &mut [T], hi: &mut [T]) {
    for ((o, p), (q, r)) in
        lo.iter_mut().zip(src_lo.chunks_exact(2)).zip(hi.iter_mut().zip(src_hi.chunks_exact(2)))
    {
        *o = p[0].min2(p[1]);
        *q = r[0].max2(r[1]);
    }
}

/// The finest level for a small power-of-two bin (2 to 16): halving passes over blocks
/// that stay in L1, which vectorise where a per-bin loop of so few samples cannot.
#[inline(always)]
fn finest_pairwise<T: Sample>(x: &[T], bin: usize, min: &mut [T], max: &mut [T]) {
    let mut a_lo = [T::MIN_INIT; PAIR_BLOCK / 2];
    let mut a_hi = [T::MAX_INIT; PAIR_BLOCK / 2];
    let mut b_lo = [T::MIN_INIT; PAIR_BLOCK / 4];
    let mut b_hi = [T::MAX_INIT; PAIR_BLOCK / 4];
    let per_block = PAIR_BLOCK / bin;
    let mut blocks = x.chunks_exact(PAIR_BLOCK);
    let mut done = 0;
    for block in &mut blocks {
        let (lo, hi) = (&mut min[done..done + per_block], &mut max[done..done + per_block]);
        // Halve until one value per bin, ping-ponging between the two scratch pairs and
        // writing the last pass straight into the output.
        match bin {
            2 => pair_step(block, block, lo, hi),
            4 => {
                pair_step(block, block, &mut a_lo, &mut a_hi);
                pair_step(&a_lo, &a_hi, lo, hi);
            }
            8 => {
                pair_step(block, block, &mut a_lo, &mut a_hi);
                pair_step(&a_lo, &a_hi, &mut b_lo, &mut b_hi);
                pair_step(&b_lo, &b_hi, lo, hi);
            }
            _ => {
                pair_step(block, block, &mut a_lo, &mut a_hi);
                pair_step(&a_lo, &a_hi, &mut b_lo, &mut b_hi);
                let n = PAIR_BLOCK / 8;
                pair_step(&b_lo, &b_hi, &mut a_lo[..n], &mut a_hi[..n]);
                pair_step(&a_lo[..n], &a_hi[..n], lo, hi);
            }
        }
        done += per_block;
    }
    finest_lanes::<T, 1>(blocks.remainder(), bin, &mut min[done..], &mut max[done..]);
}

/// The finest level, straight from the samples: as many lanes as the bin fills.
#[inline(always)]
fn finest_generic<T: Sample>(x: &[T], bin: usize, min: &mut [T], max: &mut [T]) {
    match bin {
        32.. => finest_lanes::<T, 32>(x, bin, min, max),
        2 | 4 | 8 | 16 => finest_pairwise(x, bin, min, max),
        16..=31 => finest_lanes::<T, 16>(x, bin, min, max),
        8..=15 => finest_lanes::<T, 8>(x, bin, min, max),
        _ => finest_lanes::<T, 1>(x, bin, min, max),
    }
}

/// Reduces a finer level by a factor known at compile time (vectorises).
#[inline(always)]
fn coarsen_fixed<T: Sample, const F: usize>(fine: &[T], out: &mut [T], min: bool) {
    let mut chunks = fine.chunks_exact(F);
    let whole = fine.len() / F;
    let (head, tail) = out.split_at_mut(whole);
    for (o, c) in head.iter_mut().zip(&mut chunks) {
        *o = if min {
            c.iter().fold(T::MIN_INIT, |a, &b| a.min2(b))
        } else {
            c.iter().fold(T::MAX_INIT, |a, &b| a.max2(b))
        };
    }
    if let Some(o) = tail.first_mut() {
        let rest = chunks.remainder();
        *o = if min {
            rest.iter().fold(T::MIN_INIT, |a, &b| a.min2(b))
        } else {
            rest.iter().fold(T::MAX_INIT, |a, &b| a.max2(b))
        };
    }
}

/// Reduces one row of a finer level by `factor`.
#[inline(always)]
fn coarsen_row<T: Sample>(fine: &[T], factor: usize, out: &mut [T], min: bool) {
    match factor {
        2 => coarsen_fixed::<T, 2>(fine, out, min),
        4 => coarsen_fixed::<T, 4>(fine, out, min),
        8 => coarsen_fixed::<T, 8>(fine, out, min),
        _ => {
            for (o, c) in out.iter_mut().zip(fine.chunks(factor)) {
                *o = if min {
                    c.iter().fold(T::MIN_INIT, |a, &b| a.min2(b))
                } else {
                    c.iter().fold(T::MAX_INIT, |a, &b| a.max2(b))
                };
            }
        }
    }
}

/// Every level: the finest from the samples, each coarser one from the level below.
#[inline(always)]
fn levels_generic<T: Sample>(x: &[T], bins: &[usize], outs: &mut [LevelOut<'_, T>]) {
    let last = bins.len() - 1;
    {
        let out = &mut outs[last];
        finest_generic(x, bins[last], out.min, out.max);
    }
    for k in (0..last).rev() {
        let (coarse, fine) = outs.split_at_mut(k + 1);
        let factor = bins[k] / bins[k + 1];
        let c = &mut coarse[k];
        coarsen_row(fine[0].min, factor, c.min, true);
        coarsen_row(fine[0].max, factor, c.max, false);
    }
}

crate::simd::dispatch! {
    /// Every level, with the widest vector instructions this CPU has.
    fn levels<T: Sample>(x: &[T], bins: &[usize], outs: &mut [LevelOut<'_, T>])
        => levels_generic;
}

fn check_outputs<T>(
    n: usize,
    bins: &[usize],
    outs: &[LevelOut<'_, T>],
) -> Result<(), PyramidError> {
    validate_bins(bins)?;
    if outs.len() != bins.len() {
        return Err(PyramidError::OutputLevels { expected: bins.len(), got: outs.len() });
    }
    for (level, (out, &bin)) in outs.iter().zip(bins).enumerate() {
        let expected = n_bins(n, bin);
        for got in [out.min.len(), out.max.len()] {
            if got != expected {
                return Err(PyramidError::OutputLength { level, expected, got });
            }
        }
    }
    Ok(())
}

/// Computes every level of the min/max pyramid of `x` into `outs`, on the calling thread.
///
/// `bins` lists the bin sizes coarsest first, each a multiple of the next; `outs[k]` must
/// have rows of `n_bins(x.len(), bins[k])` values.
pub fn pyramid_into<T: Sample>(
    x: &[T],
    bins: &[usize],
    outs: &mut [LevelOut<'_, T>],
) -> Result<(), PyramidError> {
    check_outputs(x.len(), bins, outs)?;
    levels(x, bins, outs);
    Ok(())
}

/// Like [`pyramid_into`], but splits the samples into pieces aligned to the coarsest bin
/// and computes them on the rayon thread pool. The result is identical to the serial one.
pub fn pyramid_into_parallel<T: Sample>(
    x: &[T],
    bins: &[usize],
    outs: &mut [LevelOut<'_, T>],
) -> Result<(), PyramidError> {
    check_outputs(x.len(), bins, outs)?;
    let coarsest = bins[0];
    let threads = rayon::current_num_threads().max(1);
    // Pieces of whole coarsest bins, a few per thread for balance.
    let per_piece = n_bins(n_bins(x.len(), coarsest), threads.saturating_mul(4)).max(1);
    // At most about x.len() / threads + coarsest; saturating keeps an absurd bin harmless.
    let piece = per_piece.saturating_mul(coarsest);
    if x.len() <= piece {
        return pyramid_into(x, bins, outs);
    }
    // Cut every output row into the pieces' shares.
    let mut shares: Vec<Vec<LevelOut<'_, T>>> = Vec::new();
    let mut rests: Vec<(&mut [T], &mut [T])> =
        outs.iter_mut().map(|o| (&mut *o.min, &mut *o.max)).collect();
    let mut start = 0;
    while start < x.len() {
        let len = piece.min(x.len() - start);
        let mut levels = Vec::with_capacity(bins.len());
        for (rest, &bin) in rests.iter_mut().zip(bins) {
            let n = n_bins(len, bin);
            let (lo, lo_rest) = std::mem::take(&mut rest.0).split_at_mut(n);
            let (hi, hi_rest) = std::mem::take(&mut rest.1).split_at_mut(n);
            rest.0 = lo_rest;
            rest.1 = hi_rest;
            levels.push(LevelOut { min: lo, max: hi });
        }
        shares.push(levels);
        start += len;
    }
    shares
        .par_iter_mut()
        .zip(x.par_chunks(piece))
        .try_for_each(|(levels, xs)| pyramid_into(xs, bins, levels))
}

/// The `(min, max)` rows of every level, coarsest first.
pub type Levels<T> = Vec<(Vec<T>, Vec<T>)>;

/// Allocates and returns the pyramid of `x`: `(min, max)` rows per level, coarsest first.
pub fn pyramid<T: Sample>(x: &[T], bins: &[usize]) -> Result<Levels<T>, PyramidError> {
    validate_bins(bins)?;
    let mut rows: Vec<(Vec<T>, Vec<T>)> = bins
        .iter()
        .map(|&b| (vec![T::MIN_INIT; n_bins(x.len(), b)], vec![T::MAX_INIT; n_bins(x.len(), b)]))
        .collect();
    {
        let mut outs: Vec<LevelOut<'_, T>> =
            rows.iter_mut().map(|(lo, hi)| LevelOut { min: lo, max: hi }).collect();
        pyramid_into(x, bins, &mut outs)?;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain reference: every level straight from the samples.
    fn reference<T: Sample>(x: &[T], bins: &[usize]) -> Vec<(Vec<T>, Vec<T>)> {
        bins.iter()
            .map(|&b| {
                let mut lo = Vec::new();
                let mut hi = Vec::new();
                for c in x.chunks(b) {
                    let mut mn = T::MIN_INIT;
                    let mut mx = T::MAX_INIT;
                    for &v in c {
                        mn = mn.min2(v);
                        mx = mx.max2(v);
                    }
                    lo.push(mn);
                    hi.push(mx);
                }
                (lo, hi)
            })
            .collect()
    }

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed >> 33
    }

    fn check_all<T: Sample + std::fmt::Debug>(x: &[T], bins: &[usize]) {
        let got = pyramid(x, bins).unwrap();
        assert_eq!(got, reference(x, bins), "len {} bins {:?}", x.len(), bins);
        let mut rows: Vec<(Vec<T>, Vec<T>)> = bins
            .iter()
            .map(|&b| {
                (vec![T::MIN_INIT; n_bins(x.len(), b)], vec![T::MAX_INIT; n_bins(x.len(), b)])
            })
            .collect();
        let mut outs: Vec<LevelOut<'_, T>> =
            rows.iter_mut().map(|(lo, hi)| LevelOut { min: lo, max: hi }).collect();
        pyramid_into_parallel(x, bins, &mut outs).unwrap();
        drop(outs);
        assert_eq!(rows, got, "parallel differs from serial");
    }

    const LENGTHS: [usize; 12] = [0, 1, 2, 15, 16, 17, 63, 64, 65, 1000, 4097, 70_001];
    const BIN_SETS: [&[usize]; 12] = [
        &[1],
        &[4, 1],
        &[64],
        &[256, 64, 16],
        &[48, 16, 4],
        &[1024, 256, 64],
        &[16, 8],
        &[512, 64, 8],
        &[12, 6, 3],
        &[50, 10],
        &[24],
        &[40, 20],
    ];

    #[test]
    fn int16_matches_reference() {
        let mut seed = 7;
        for &n in &LENGTHS {
            let x: Vec<i16> = (0..n).map(|_| lcg(&mut seed) as i16).collect();
            for bins in BIN_SETS {
                check_all(&x, bins);
            }
        }
    }

    #[test]
    fn extreme_values_of_each_dtype() {
        fn run<T: Sample + std::fmt::Debug>(lo: T, hi: T, mid: T) {
            for &n in &[1usize, 5, 64, 200] {
                let mut x = vec![mid; n];
                x[n / 2] = lo;
                x[n - 1] = hi;
                for bins in BIN_SETS {
                    check_all(&x, bins);
                }
                let all = pyramid(&x, &[n.next_power_of_two()]).unwrap();
                if n > 1 {
                    assert_eq!(all[0], (vec![lo], vec![hi]));
                }
            }
        }
        run::<i8>(i8::MIN, i8::MAX, 0);
        run::<u8>(u8::MIN, u8::MAX, 100);
        run::<i16>(i16::MIN, i16::MAX, 0);
        run::<u16>(u16::MIN, u16::MAX, 1);
        run::<i32>(i32::MIN, i32::MAX, 0);
        run::<f32>(f32::MIN, f32::MAX, 0.5);
        run::<f64>(f64::NEG_INFINITY, f64::INFINITY, 0.5);
    }

    #[test]
    fn nan_is_ignored_and_all_nan_bins_stay_nan() {
        let mut x = vec![f64::NAN; 40];
        x[5] = 3.0;
        x[6] = -2.0;
        x[33] = 1.5;
        let got = pyramid(&x, &[16, 8]).unwrap();
        let (lo, hi) = &got[1];
        assert_eq!(&lo[..1], &[-2.0]);
        assert_eq!(&hi[..1], &[3.0]);
        assert!(lo[1].is_nan() && hi[1].is_nan() && lo[2].is_nan() && hi[3].is_nan());
        assert_eq!((lo[4], hi[4]), (1.5, 1.5));
        let (lo0, hi0) = &got[0];
        assert_eq!((lo0[0], hi0[0]), (-2.0, 3.0));
        assert!(lo0[1].is_nan() && hi0[1].is_nan());
        assert_eq!((lo0[2], hi0[2]), (1.5, 1.5));
        // NaN in the first lane and at the end of a bin.
        let y = [f32::NAN, 1.0, 2.0, f32::NAN];
        assert_eq!(pyramid(&y, &[4]).unwrap()[0], (vec![1.0], vec![2.0]));
    }

    #[test]
    fn n_smaller_than_a_bin_gives_one_partial_bin() {
        let x: Vec<u16> = vec![9, 3, 7];
        let got = pyramid(&x, &[4096, 64]).unwrap();
        assert_eq!(got, vec![(vec![3], vec![9]), (vec![3], vec![9])]);
    }

    #[test]
    fn streaming_blocks_concatenate_to_the_whole() {
        let mut seed = 11;
        let x: Vec<i16> = (0..10_000).map(|_| lcg(&mut seed) as i16).collect();
        let bins = [256, 64, 16];
        let whole = pyramid(&x, &bins).unwrap();
        let mut joined: Vec<(Vec<i16>, Vec<i16>)> = vec![(vec![], vec![]); 3];
        for block in x.chunks(256 * 7) {
            for (j, part) in joined.iter_mut().zip(pyramid(block, &bins).unwrap()) {
                j.0.extend(part.0);
                j.1.extend(part.1);
            }
        }
        assert_eq!(joined, whole);
    }

    #[test]
    fn dtype_names_cover_every_sample_type_once() {
        assert_eq!(DTYPE_NAMES.len(), 10);
        let mut names = DTYPE_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DTYPE_NAMES.len());
        assert_eq!(&DTYPE_NAMES[..3], &["int8", "uint8", "int16"]);
        assert_eq!(DTYPE_NAMES[9], "float64");
    }

    #[test]
    fn bin_count_refuses_empty_bins() {
        assert_eq!(bin_count(10, 4), Ok(3));
        assert_eq!(bin_count(0, 4), Ok(0));
        assert_eq!(bin_count(usize::MAX, usize::MAX), Ok(1));
        assert_eq!(bin_count(10, 0), Err(PyramidError::ZeroBin));
    }

    #[test]
    fn bad_arguments_are_reported() {
        let x = [1i16, 2, 3];
        assert_eq!(pyramid(&x, &[]).unwrap_err(), PyramidError::NoLevels);
        assert_eq!(pyramid(&x, &[0]).unwrap_err(), PyramidError::ZeroBin);
        assert!(matches!(pyramid(&x, &[10, 4]).unwrap_err(), PyramidError::NotNested { .. }));
        assert!(matches!(pyramid(&x, &[4, 16]).unwrap_err(), PyramidError::NotNested { .. }));
        let mut lo = [0i16; 2];
        let mut hi = [0i16; 1];
        let err = pyramid_into(&x, &[2], &mut [LevelOut { min: &mut lo, max: &mut hi }]);
        assert!(matches!(err.unwrap_err(), PyramidError::OutputLength { .. }));
        let err = pyramid_into::<i16>(&x, &[2], &mut []);
        assert!(matches!(err.unwrap_err(), PyramidError::OutputLevels { .. }));
    }
}
