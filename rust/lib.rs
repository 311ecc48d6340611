//! Python bindings of the zoomingonline core. The algorithms live in plain Rust modules
//! (`pyramid`, `generate`, and `simd`, which picks the vector instructions); this file only
//! converts arguments and arrays, releases the GIL, calls the algorithm and maps errors.

pub mod generate;
pub mod pyramid;
pub mod simd;

use numpy::ndarray::Axis;
use numpy::{
    dtype, Element, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray1,
    PyReadwriteArray2, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::pyramid::{for_each_sample, LevelOut, PyramidError, Sample, DTYPE_NAMES};

impl From<PyramidError> for PyErr {
    fn from(err: PyramidError) -> PyErr {
        PyValueError::new_err(err.to_string())
    }
}

/// A whole-number argument that fits in `T`. PyO3's own conversion raises `OverflowError`
/// for a negative or too large int; this raises `ValueError` naming the range instead, so
/// every out-of-range size is the same kind of error. Non-integers stay a `TypeError`.
struct Whole<T>(T);

macro_rules! impl_whole {
    ($($t:ty),*) => {$(
        impl<'a, 'py> FromPyObject<'a, 'py> for Whole<$t> {
            type Error = PyErr;

            fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
                obj.extract::<$t>().map(Whole).map_err(|err| {
                    if err.is_instance_of::<PyOverflowError>(obj.py()) {
                        PyValueError::new_err(format!(
                            "{} is not a whole number from 0 to 2**{} - 1",
                            &*obj,
                            <$t>::BITS
                        ))
                    } else {
                        err
                    }
                })
            }
        }
    )*};
}

impl_whole!(u64, usize);

fn compute<T: Sample + Element>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    bins: &[usize],
    outs: &Bound<'_, PyList>,
    parallel: bool,
) -> PyResult<()> {
    let x: PyReadonlyArray1<'_, T> = x.extract()?;
    let xs = x.as_slice().map_err(|_| PyValueError::new_err("x must be C-contiguous"))?;
    if outs.len() != bins.len() {
        return Err(PyramidError::OutputLevels { expected: bins.len(), got: outs.len() }.into());
    }
    let mut arrays: Vec<PyReadwriteArray2<'_, T>> = Vec::with_capacity(outs.len());
    for out in outs.iter() {
        let arr = out.cast::<PyArray2<T>>().map_err(|_| {
            PyTypeError::new_err("every output must be a 2-D array of the input's dtype")
        })?;
        arrays.push(arr.try_readwrite().map_err(|_| {
            PyValueError::new_err("outputs must be writeable and distinct from each other")
        })?);
    }
    let mut levels: Vec<LevelOut<'_, T>> = Vec::with_capacity(arrays.len());
    for arr in arrays.iter_mut() {
        let view = arr.as_array_mut();
        if view.shape()[0] != 2 {
            return Err(PyValueError::new_err("every output must have shape (2, bins)"));
        }
        let (lo, hi) = view.split_at(Axis(0), 1);
        let not_contig = || PyValueError::new_err("output rows must be contiguous");
        levels.push(LevelOut {
            min: lo.into_slice().ok_or_else(not_contig)?,
            max: hi.into_slice().ok_or_else(not_contig)?,
        });
    }
    py.detach(|| {
        if parallel {
            pyramid::pyramid_into_parallel(xs, bins, &mut levels)
        } else {
            pyramid::pyramid_into(xs, bins, &mut levels)
        }
    })?;
    Ok(())
}

/// Computes the min/max pyramid of the 1-D array `x` into `outs`.
///
/// Parameters
/// ----------
/// x : numpy.ndarray
///     C-contiguous 1-D samples (int8, uint8, int16, uint16, int32, uint32, int64,
///     uint64, float32 or float64).
/// bins : sequence of int
///     Bin sizes, coarsest first, each a multiple of the next.
/// outs : list of numpy.ndarray
///     One array per level, of `x`'s dtype and shape `(2, ceil(len(x) / bins[k]))`, whose
///     rows are contiguous (a column slice of a larger array is fine, but each level
///     needs an array of its own). Row 0 receives the minima, row 1 the maxima.
/// parallel : bool
///     Split the work over the rayon thread pool; the result is identical.
///
/// Notes
/// -----
/// The GIL is released while the kernel runs. NaN is ignored; an all-NaN bin gives NaN.
#[pyfunction]
#[pyo3(signature = (x, bins, outs, parallel = false))]
fn minmax_pyramid_into(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    bins: Vec<Whole<usize>>,
    outs: &Bound<'_, PyList>,
    parallel: bool,
) -> PyResult<()> {
    let bins: Vec<usize> = bins.into_iter().map(|b| b.0).collect();
    let arr =
        x.cast::<PyUntypedArray>().map_err(|_| PyTypeError::new_err("x must be a numpy array"))?;
    if arr.ndim() != 1 {
        return Err(PyValueError::new_err("x must be one-dimensional"));
    }
    let dt = arr.dtype();
    macro_rules! compute_for_dtype {
        ($($kind:ident $t:ident $name:literal),*) => {
            $(if dt.is_equiv_to(&dtype::<$t>(py)) {
                return compute::<$t>(py, x, &bins, outs, parallel);
            })*
        };
    }
    for_each_sample!(compute_for_dtype);
    Err(PyTypeError::new_err(format!(
        "unsupported dtype {dt}; supported: {}",
        DTYPE_NAMES.join(", ")
    )))
}

/// Number of bins of size `bin` covering `n` samples, the last one possibly partial.
#[pyfunction]
fn n_bins(n: Whole<usize>, bin: Whole<usize>) -> PyResult<usize> {
    Ok(pyramid::bin_count(n.0, bin.0)?)
}

// -- synthetic recordings (zoomingonline generate) ------------------------------------------

impl From<generate::GenerateError> for PyErr {
    fn from(err: generate::GenerateError) -> PyErr {
        PyValueError::new_err(err.to_string())
    }
}

/// A synthetic recording: any block of any of its segments, on demand, in ADC counts.
///
/// Parameters
/// ----------
/// seed : int
///     The recording's seed, 0 to 2**64 - 1.
/// signal : str
///     The base signal: sine, square, sawtooth or pulse.
/// n_samples : int
///     Samples per segment.
/// horiz_interval : float
///     Seconds between samples.
///
/// Notes
/// -----
/// A sample's value depends only on the seed, the signal, `n_samples`, `horiz_interval`
/// and its place, never on the block it is asked in.
#[pyclass(name = "SynthRecording", module = "zoomingonline._core", frozen)]
struct SynthRecording {
    rec: generate::Recording,
}

#[pymethods]
impl SynthRecording {
    #[new]
    fn new(
        seed: Whole<u64>,
        signal: &str,
        n_samples: Whole<u64>,
        horiz_interval: f64,
    ) -> PyResult<Self> {
        let signal = generate::Signal::from_name(signal)?;
        let rec = generate::Recording::new(seed.0, signal, n_samples.0, horiz_interval)?;
        Ok(Self { rec })
    }

    /// Fills `out` with samples `start .. start + len(out)` of one segment.
    ///
    /// Parameters
    /// ----------
    /// out : numpy.ndarray
    ///     C-contiguous, writeable 1-D int16 array.
    /// segment : tuple of int
    ///     The segment's `(channel, trc, segment)`.
    /// start : int
    ///     Index of the first sample to fill.
    /// parallel : bool
    ///     Spread the work over the rayon thread pool; the bytes are the same.
    ///
    /// The GIL is released while the samples are computed.
    #[pyo3(signature = (out, segment, start, parallel = false))]
    fn fill(
        &self,
        py: Python<'_>,
        out: &Bound<'_, PyAny>,
        segment: (Whole<u64>, Whole<u64>, Whole<u64>),
        start: Whole<u64>,
        parallel: bool,
    ) -> PyResult<()> {
        let (channel, trc, segment, start) = (segment.0 .0, segment.1 .0, segment.2 .0, start.0);
        let arr = out
            .cast::<numpy::PyArray1<i16>>()
            .map_err(|_| PyTypeError::new_err("out must be a 1-D int16 numpy array"))?;
        let mut rw =
            arr.try_readwrite().map_err(|_| PyValueError::new_err("out must be writeable"))?;
        let xs =
            rw.as_slice_mut().map_err(|_| PyValueError::new_err("out must be C-contiguous"))?;
        let rec = &self.rec;
        py.detach(|| {
            if parallel {
                rec.fill_parallel(channel, trc, segment, start, xs)
            } else {
                rec.fill(channel, trc, segment, start, xs)
            }
        })?;
        Ok(())
    }
}

/// `(gain, offset)` of `(channel, trc)` of the synthetic recording of `seed`, in V per
/// count and V: volts = adc * gain - offset.
#[pyfunction]
fn synth_vertical(seed: Whole<u64>, channel: Whole<u64>, trc: Whole<u64>) -> (f64, f64) {
    generate::vertical(seed.0, channel.0, trc.0)
}

/// The glitches of segment `(channel, trc, segment)` of the synthetic recording of `seed`
/// with segments of `n_samples` samples: a list of `(sample index, volts added)`.
#[pyfunction]
fn synth_glitches(
    seed: Whole<u64>,
    n_samples: Whole<u64>,
    channel: Whole<u64>,
    trc: Whole<u64>,
    segment: Whole<u64>,
) -> PyResult<Vec<(u64, f64)>> {
    Ok(generate::glitches(seed.0, n_samples.0, channel.0, trc.0, segment.0)?
        .iter()
        .map(|g| (g.index, g.volts))
        .collect())
}

/// The event of synthetic segments of `n_samples` samples every `horiz_interval`
/// seconds: `(first sample, volts added from there)`; the list is empty when the segment
/// ends before the event does.
#[pyfunction]
fn synth_event(n_samples: Whole<u64>, horiz_interval: f64) -> PyResult<(u64, Vec<f64>)> {
    let event = generate::event(n_samples.0, horiz_interval)?;
    Ok((event.start, event.volts))
}

// -- end of synthetic recordings -------------------------------------------------------------

/// The compiled core of zoomingonline.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(minmax_pyramid_into, m)?)?;
    m.add_function(wrap_pyfunction!(n_bins, m)?)?;
    m.add_class::<SynthRecording>()?;
    m.add_function(wrap_pyfunction!(synth_vertical, m)?)?;
    m.add_function(wrap_pyfunction!(synth_glitches, m)?)?;
    m.add_function(wrap_pyfunction!(synth_event, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("SUPPORTED_DTYPES", PyTuple::new(m.py(), DTYPE_NAMES)?)?;
    m.add("SIGNALS", PyTuple::new(m.py(), generate::Signal::NAMES)?)?;
    m.add("MAX_HORIZ_INTERVAL", generate::MAX_HORIZ_INTERVAL)?;
    Ok(())
}
