//! Synthetic oscilloscope recordings, reproducible sample for sample from a seed.
//!
//! The model is the original ZoomingOnline generator's. A segment of `n` samples taken
//! every `horiz_interval` seconds (`t_i = i * horiz_interval`) holds, in volts:
//!
//! - a base signal at 50 Hz: `0.1 sin(2 pi f t)`, the square wave `0.1 sign(sin(2 pi f t))`,
//!   the sawtooth `0.2 (f t - floor(f t + 1/2))`, or pulses of 0.2 V during the first
//!   twentieth of each period; evaluated at the time jittered by a gaussian of
//!   `0.05 * horiz_interval`;
//! - an event, a decaying oscillation: from sample `floor(443.5 us / horiz_interval)` to
//!   `floor(443.75 us / horiz_interval)` (221749 to 221875 at 2 ns, as the original's
//!   `int()` gave), `-0.05 exp(-u) sin(2 pi 50 MHz tau)`, `u` evenly spaced from 0 to 20
//!   (the original's `linspace`), `tau` the time since the event's first sample; left
//!   out when the segment ends before it;
//! - DC drift `0.01 sin(2 pi 0.1 t) + 0.005 sin(2 pi 0.5 t)`;
//! - gaussian noise of 0.01 V;
//! - three glitches at uniform positions, of uniform height 0.05 to 0.15 V and random sign;
//! - the channel offset `0.05 V * channel`;
//!
//! and is digitised as `round((v + offset) / gain)` to int16 (clamped), with a gain of
//! `1e-4 V * U(0.98, 1.02)` and an offset of `-0.2 V + U(-0.01, 0.01)` per (channel, trc),
//! so that `volts = adc * gain - offset` as the store format says.
//!
//! Three choices differ from the original on purpose. The event's oscillation: the
//! original's `sin(2 pi 50 u)` advances by exactly 8 cycles per sample (`u` steps by
//! 20/125), so its event was `0.05 * sin(16 pi k)`, zero to 3e-16 V: invisible. Here it
//! rings at 50 MHz (10 samples per period) under the original's envelope `exp(-u)`
//! (12.5 ns), so it is there to find. The original truncated toward zero (a bias of up to
//! one count); this rounds to the nearest count. And the timing jitter is drawn only for
//! the samples within
//! 12 standard deviations of an edge of the base signal (the jumps of the square wave,
//! the sawtooth and the pulses). Everywhere else it moves the signal by less than 1e-4 of
//! an ADC count (the sine's steepest slope times 12 sigma is 3e-8 V): it cannot change the
//! data beyond what the 0.01 V noise already randomises, and drawing it would cost a
//! gaussian per sample.
//!
//! Reproducibility: every random number comes from a stream keyed by the seed and what it
//! is for. Gains and offsets are keyed by (channel, trc); glitches by the segment; the
//! noise by the segment and the tile of [`TILE`] samples it falls in (eight interleaved
//! xoshiro256++ streams per tile, gaussians by the ziggurat method, whose rare retries
//! draw from a stream keyed by the sample); the jitter by the sample. So a block of
//! samples is the same whatever the blocks around it, their size, or the number of
//! threads. Only `+`, `*`, `/` and comparisons touch the samples (the sines are
//! polynomials), so the bytes do not depend on the CPU's vector width; `exp`, `ln` and
//! `sin` of the platform's libm enter through the ziggurat tables, its rare tail and
//! wedge tests, and the 126-sample event.

use std::sync::OnceLock;

use rayon::prelude::*;

use crate::simd::dispatch;

/// Frequency of the base signal, Hz.
pub const SIGNAL_HZ: f64 = 50.0;
/// Amplitude of the sine, square and sawtooth, V.
pub const SIGNAL_VOLTS: f64 = 0.1;
/// Height of the pulses, V.
pub const PULSE_VOLTS: f64 = 0.2;
/// Fraction of the period the pulse is high.
pub const PULSE_DUTY: f64 = 1.0 / 20.0;
/// Standard deviation of the timing jitter, in sampling intervals.
pub const JITTER: f64 = 0.05;
/// Standard deviation of the gaussian noise, V.
pub const NOISE_VOLTS: f64 = 0.01;
/// DC drift: `(volts, hertz)` of its two slow sines.
pub const DRIFT: [(f64, f64); 2] = [(0.01, 0.1), (0.005, 0.5)];
/// The event starts at this time, s.
pub const EVENT_START_S: f64 = 443.5e-6;
/// The event ends at this time, s.
pub const EVENT_END_S: f64 = 443.75e-6;
/// Amplitude of the event, V (negative: it starts downward).
pub const EVENT_VOLTS: f64 = -0.05;
/// The event's envelope is `exp(-u)`, `u` running from 0 to this value.
pub const EVENT_SPAN: f64 = 20.0;
/// Frequency of the event's oscillation, Hz.
pub const EVENT_HZ: f64 = 50e6;
/// Glitches per segment.
pub const GLITCHES: usize = 3;
/// Smallest glitch height, V.
pub const GLITCH_MIN_VOLTS: f64 = 0.05;
/// Largest glitch height, V.
pub const GLITCH_MAX_VOLTS: f64 = 0.15;
/// Offset added per channel index, V.
pub const CHANNEL_STEP_VOLTS: f64 = 0.05;
/// Nominal vertical gain, V per count.
pub const GAIN: f64 = 1e-4;
/// Relative spread of the gain: uniform in `GAIN * (1 +- GAIN_SPREAD)`.
pub const GAIN_SPREAD: f64 = 0.02;
/// Nominal vertical offset, V.
pub const OFFSET: f64 = -0.2;
/// Spread of the offset: uniform in `OFFSET +- OFFSET_SPREAD`.
pub const OFFSET_SPREAD: f64 = 0.01;
/// Samples per noise tile: the noise of a sample depends on its tile's stream only.
pub const TILE: usize = 1 << 16;

/// Samples computed together (buffers that stay in L1); pieces start at multiples of it.
const PIECE: usize = 1024;
/// Coefficients of the polynomial that gives the smooth part of a piece (degree 8).
const TAYLOR: usize = 9;
/// The longest sampling interval, s: the polynomials stay exact to 1e-11 V up to it.
pub const MAX_HORIZ_INTERVAL: f64 = 1e-6;
/// The jitter is drawn within this many standard deviations of an edge.
const JITTER_REACH: f64 = 12.0;
/// Adding and subtracting 1.5 * 2^52 rounds an f64 below 2^51 to the nearest integer
/// (ties to even) with plain arithmetic, which vectorises where `f64::round` may not.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;

/// Purposes of the random streams, so no two share a key.
mod purpose {
    pub const VERTICAL: u64 = 1;
    pub const GLITCHES: u64 = 2;
    pub const NOISE: u64 = 3;
    pub const JITTER: u64 = 4;
    pub const NOISE_RETRY: u64 = 5;
}

/// The base signal of a recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// `0.1 sin(2 pi f t)`.
    Sine,
    /// `0.1 sign(sin(2 pi f t))`.
    Square,
    /// `0.2 (f t - floor(f t + 1/2))`, from -0.1 to 0.1 V.
    Sawtooth,
    /// 0.2 V for the first twentieth of each period, 0 otherwise.
    Pulse,
}

impl Signal {
    /// Every signal, in the order of [`Signal::NAMES`].
    pub const ALL: [Signal; 4] = [Signal::Sine, Signal::Square, Signal::Sawtooth, Signal::Pulse];
    /// The names the command line and the Python API use.
    pub const NAMES: [&'static str; 4] = ["sine", "square", "sawtooth", "pulse"];

    /// The signal called `name` (see [`Signal::NAMES`]).
    pub fn from_name(name: &str) -> Result<Signal, GenerateError> {
        Self::NAMES
            .iter()
            .position(|&n| n == name)
            .map(|k| Self::ALL[k])
            .ok_or_else(|| GenerateError::UnknownSignal(name.to_string()))
    }

    /// The signal's name.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Phases (in cycles, modulo 1) where the signal jumps: where the jitter matters.
    fn edges(self) -> &'static [f64] {
        match self {
            Signal::Sine => &[],
            Signal::Square => &[0.0, 0.5],
            Signal::Sawtooth => &[0.5],
            Signal::Pulse => &[0.0, PULSE_DUTY],
        }
    }
}

/// Why a recording cannot be generated as asked.
#[derive(Debug, Clone, PartialEq)]
pub enum GenerateError {
    /// A signal name that is not one of [`Signal::NAMES`].
    UnknownSignal(String),
    /// Segments of no samples.
    NoSamples,
    /// A sampling interval that is not a positive number up to [`MAX_HORIZ_INTERVAL`].
    BadInterval(f64),
    /// A block reaching past the end of the segment.
    OutOfRange { start: u64, len: usize, n_samples: u64 },
}

impl std::fmt::Display for GenerateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownSignal(name) => write!(
                f,
                "unknown signal type {name:?}; choose one of {}",
                Signal::NAMES.join(", ")
            ),
            Self::NoSamples => write!(f, "segments must hold at least one sample"),
            Self::BadInterval(v) => write!(
                f,
                "the sampling interval must be more than 0 and at most {MAX_HORIZ_INTERVAL} s, not {v}"
            ),
            Self::OutOfRange { start, len, n_samples } => write!(
                f,
                "samples {start}..{} are outside the segment of {n_samples} samples",
                *start as u128 + *len as u128
            ),
        }
    }
}

impl std::error::Error for GenerateError {}

// -- random numbers ------------------------------------------------------------------------

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function: a bijective 64-bit mixer.
#[inline(always)]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key of the random stream for `seed` and `parts` (a purpose, then indices).
pub fn derive_key(seed: u64, parts: &[u64]) -> u64 {
    let mut h = mix64(seed.wrapping_add(GOLDEN));
    for &p in parts {
        h = mix64(h ^ mix64(p.wrapping_add(GOLDEN))).wrapping_add(GOLDEN);
    }
    h
}

/// SplitMix64 (Steele, Lea and Flood), used to seed [`Xoshiro256pp`].
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix64(self.0)
    }
}

/// xoshiro256++ (Blackman and Vigna), the generator of every stream.
#[derive(Clone, Debug)]
pub struct Xoshiro256pp {
    s: [u64; 4],
}

impl Xoshiro256pp {
    /// The generator with state `s` (not all zero).
    pub fn from_state(s: [u64; 4]) -> Self {
        Self { s }
    }

    /// The stream of `key`: its state is four outputs of SplitMix64 seeded with `key`.
    pub fn from_key(key: u64) -> Self {
        let mut sm = SplitMix64::new(key);
        Self { s: [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()] }
    }

    /// The next 64 random bits.
    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in [0, 1), 53 random bits.
    #[inline(always)]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1], safe to take the logarithm of.
    #[inline(always)]
    fn uniform_open0(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n) (multiply-shift; the bias is below n / 2^64).
    #[inline(always)]
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// A standard normal deviate (Marsaglia and Tsang's ziggurat, 256 layers).
    #[inline(always)]
    pub fn normal(&mut self) -> f64 {
        self.normal_with(ziggurat())
    }

    #[inline(always)]
    fn normal_with(&mut self, z: &Ziggurat) -> f64 {
        loop {
            let bits = self.next_u64();
            let i = (bits & 0xff) as usize;
            // u in [-1, 1) from the 53 high bits; the layer from the 8 low ones.
            let u = (bits >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0;
            let x = u * z.x[i];
            if x.abs() < z.x[i + 1] {
                return x;
            }
            if let Some(v) = self.normal_slow(z, i, u, x) {
                return v;
            }
        }
    }

    /// The ziggurat's rare cases: the tail beyond `R` and the wedges.
    #[cold]
    fn normal_slow(&mut self, z: &Ziggurat, i: usize, u: f64, x: f64) -> Option<f64> {
        if i == 0 {
            // Marsaglia's tail method.
            loop {
                let a = -self.uniform_open0().ln() / ZIG_R;
                let b = -self.uniform_open0().ln();
                if 2.0 * b >= a * a {
                    return Some(if u < 0.0 { -ZIG_R - a } else { ZIG_R + a });
                }
            }
        }
        let y = z.f[i + 1] + (z.f[i] - z.f[i + 1]) * self.uniform();
        (y < (-0.5 * x * x).exp()).then_some(x)
    }
}

/// Start of the normal tail of the 256-layer ziggurat.
const ZIG_R: f64 = 3.654_152_885_361_009;
/// Area of each layer of the 256-layer ziggurat under `exp(-x^2 / 2)`.
const ZIG_V: f64 = 0.004_928_673_233_99;

/// The ziggurat's layer edges `x` and the density `f` at them.
struct Ziggurat {
    x: [f64; 257],
    f: [f64; 257],
}

fn ziggurat() -> &'static Ziggurat {
    static TABLES: OnceLock<Ziggurat> = OnceLock::new();
    TABLES.get_or_init(|| {
        let pdf = |x: f64| (-0.5 * x * x).exp();
        let mut x = [0.0; 257];
        x[0] = ZIG_V / pdf(ZIG_R);
        x[1] = ZIG_R;
        for i in 2..256 {
            x[i] = (-2.0 * (ZIG_V / x[i - 1] + pdf(x[i - 1])).ln()).sqrt();
        }
        x[256] = 0.0;
        let mut f = [0.0; 257];
        for i in 0..257 {
            f[i] = pdf(x[i]);
        }
        Ziggurat { x, f }
    })
}

// -- the deterministic waveform -------------------------------------------------------------

/// `x` rounded to the nearest integer, ties to even, for `|x| < 2^51`.
#[inline(always)]
fn round_int(x: f64) -> f64 {
    (x + ROUND_MAGIC) - ROUND_MAGIC
}

/// The largest integer not above `x`, for `|x| < 2^51`.
#[inline(always)]
fn floor_int(x: f64) -> f64 {
    let r = round_int(x);
    if r > x {
        r - 1.0
    } else {
        r
    }
}

/// `sin(2 pi x)` for `x` in cycles, `|x| < 2^51`, to about 1e-15.
#[inline(always)]
fn sin_cycles(x: f64) -> f64 {
    let r = x - round_int(x); // [-1/2, 1/2]
                              // sin(2 pi r) = sin(2 pi (1/2 - r)): fold into [-1/4, 1/4].
    let r = if r > 0.25 {
        0.5 - r
    } else if r < -0.25 {
        -0.5 - r
    } else {
        r
    };
    let y = std::f64::consts::TAU * r;
    let y2 = y * y;
    // Taylor series to y^17; the first neglected term is below 5e-14 at pi / 2.
    let p = 1.0 / 355_687_428_096_000.0;
    let p = -1.0 / 1_307_674_368_000.0 + y2 * p;
    let p = 1.0 / 6_227_020_800.0 + y2 * p;
    let p = -1.0 / 39_916_800.0 + y2 * p;
    let p = 1.0 / 362_880.0 + y2 * p;
    let p = -1.0 / 5040.0 + y2 * p;
    let p = 1.0 / 120.0 + y2 * p;
    let p = -1.0 / 6.0 + y2 * p;
    y + y * y2 * p
}

/// The base signal at phase `x` (cycles of [`SIGNAL_HZ`] since the first sample).
#[inline(always)]
fn base(signal: Signal, x: f64) -> f64 {
    match signal {
        Signal::Sine => SIGNAL_VOLTS * sin_cycles(x),
        Signal::Square => {
            let r = x - round_int(x);
            if r > 0.0 {
                SIGNAL_VOLTS
            } else if r < 0.0 {
                -SIGNAL_VOLTS
            } else {
                0.0
            }
        }
        Signal::Sawtooth => 2.0 * SIGNAL_VOLTS * (x - floor_int(x + 0.5)),
        Signal::Pulse => {
            if x - floor_int(x) < PULSE_DUTY {
                PULSE_VOLTS
            } else {
                0.0
            }
        }
    }
}

/// One glitch: where, and how many volts it adds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Glitch {
    /// Sample index in the segment.
    pub index: u64,
    /// Volts added (negative or positive).
    pub volts: f64,
}

/// `(gain, offset)` of `(channel, trc)` of the recording of `seed`: volts = adc * gain -
/// offset.
pub fn vertical(seed: u64, channel: u64, trc: u64) -> (f64, f64) {
    let mut rng = Xoshiro256pp::from_key(derive_key(seed, &[purpose::VERTICAL, channel, trc]));
    let gain = GAIN * (1.0 - GAIN_SPREAD + 2.0 * GAIN_SPREAD * rng.uniform());
    let offset = OFFSET - OFFSET_SPREAD + 2.0 * OFFSET_SPREAD * rng.uniform();
    (gain, offset)
}

/// The glitches of segment `(channel, trc, segment)` of `n_samples` samples of the
/// recording of `seed`, in the order they are drawn; two may share a sample, and then both
/// add up.
pub fn glitches(
    seed: u64,
    n_samples: u64,
    channel: u64,
    trc: u64,
    segment: u64,
) -> Result<[Glitch; GLITCHES], GenerateError> {
    if n_samples == 0 {
        return Err(GenerateError::NoSamples);
    }
    Ok(draw_glitches(seed, n_samples, channel, trc, segment))
}

/// [`glitches`] for `n_samples` known to be positive.
fn draw_glitches(
    seed: u64,
    n_samples: u64,
    channel: u64,
    trc: u64,
    segment: u64,
) -> [Glitch; GLITCHES] {
    let mut rng =
        Xoshiro256pp::from_key(derive_key(seed, &[purpose::GLITCHES, channel, trc, segment]));
    std::array::from_fn(|_| {
        let index = rng.below(n_samples);
        let sign = if rng.next_u64() >> 63 == 0 { -1.0 } else { 1.0 };
        let height = GLITCH_MIN_VOLTS + (GLITCH_MAX_VOLTS - GLITCH_MIN_VOLTS) * rng.uniform();
        Glitch { index, volts: sign * height }
    })
}

/// The event of segments of `n_samples` samples every `horiz_interval` seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Index of the event's first sample.
    pub start: u64,
    /// Volts added from `start` on; empty when the segment ends before the event does.
    pub volts: Vec<f64>,
}

/// Checks the two numbers every segment is made from.
fn check_segments(n_samples: u64, horiz_interval: f64) -> Result<(), GenerateError> {
    if n_samples == 0 {
        return Err(GenerateError::NoSamples);
    }
    if !(horiz_interval > 0.0 && horiz_interval <= MAX_HORIZ_INTERVAL) {
        return Err(GenerateError::BadInterval(horiz_interval));
    }
    Ok(())
}

/// The event of segments of `n_samples` samples taken every `horiz_interval` seconds (it
/// depends on nothing else).
pub fn event(n_samples: u64, horiz_interval: f64) -> Result<Event, GenerateError> {
    check_segments(n_samples, horiz_interval)?;
    // The original's indices: int(443.5e-6 / dt), int(443.75e-6 / dt) (221749 and
    // 221875 at 2 ns, the float quotient of the first being just below 221750).
    let start = (EVENT_START_S / horiz_interval) as u64;
    let end = (EVENT_END_S / horiz_interval) as u64;
    let len = end.saturating_sub(start) as usize;
    let volts = if end > n_samples || len == 0 {
        Vec::new()
    } else {
        // numpy.linspace(0, 20, len): k * step, the last value exactly 20.
        let step = if len > 1 { EVENT_SPAN / (len - 1) as f64 } else { 0.0 };
        (0..len)
            .map(|k| {
                let u = if k + 1 == len && len > 1 { EVENT_SPAN } else { k as f64 * step };
                let tau = k as f64 * horiz_interval;
                EVENT_VOLTS * (-u).exp() * (std::f64::consts::TAU * EVENT_HZ * tau).sin()
            })
            .collect()
    };
    Ok(Event { start, volts })
}

/// A synthetic recording: the seed, the base signal and the segments' length and sampling.
#[derive(Clone, Debug)]
pub struct Recording {
    seed: u64,
    signal: Signal,
    n_samples: u64,
    horiz_interval: f64,
    event: Event,
}

/// Everything one segment needs, computed once per call.
struct Segment<'a> {
    rec: &'a Recording,
    /// Phase per sample of the base signal, in cycles.
    step: f64,
    /// The smooth sines, `(volts, cycles per sample)`: the drift, and the base signal
    /// when it is the sine (it has no edges to jitter).
    smooth: Vec<(f64, f64)>,
    /// Offset volts added before digitising: channel step plus vertical offset.
    shift: f64,
    inv_gain: f64,
    glitches: [Glitch; GLITCHES],
    /// `(channel, trc, segment)`, for the keys of the noise tiles.
    place: [u64; 3],
    /// Key of the per-sample streams of the ziggurat's rare retries.
    retry_key: u64,
    jitter_key: u64,
}

/// `0.0, 1.0, ...`: sample offsets inside a piece, as f64, without an int-to-float
/// conversion in the vector loops.
fn iota() -> &'static [f64; PIECE] {
    static IOTA: OnceLock<[f64; PIECE]> = OnceLock::new();
    IOTA.get_or_init(|| std::array::from_fn(|i| i as f64))
}

impl Recording {
    /// A recording of segments of `n_samples` samples every `horiz_interval` seconds.
    pub fn new(
        seed: u64,
        signal: Signal,
        n_samples: u64,
        horiz_interval: f64,
    ) -> Result<Self, GenerateError> {
        let event = event(n_samples, horiz_interval)?;
        Ok(Self { seed, signal, n_samples, horiz_interval, event })
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The base signal.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Samples per segment.
    pub fn n_samples(&self) -> u64 {
        self.n_samples
    }

    /// Seconds between samples.
    pub fn horiz_interval(&self) -> f64 {
        self.horiz_interval
    }

    /// The event: its first sample and the volts it adds from there; empty if the
    /// segment ends before the event does.
    pub fn event(&self) -> (u64, &[f64]) {
        (self.event.start, &self.event.volts)
    }

    /// `(gain, offset)` of `(channel, trc)`: see [`vertical`].
    pub fn vertical(&self, channel: u64, trc: u64) -> (f64, f64) {
        vertical(self.seed, channel, trc)
    }

    /// The glitches of segment `(channel, trc, segment)`: see [`glitches`].
    pub fn glitches(&self, channel: u64, trc: u64, segment: u64) -> [Glitch; GLITCHES] {
        draw_glitches(self.seed, self.n_samples, channel, trc, segment)
    }

    fn segment(&self, channel: u64, trc: u64, segment: u64) -> Segment<'_> {
        let (gain, offset) = self.vertical(channel, trc);
        let dt = self.horiz_interval;
        Segment {
            rec: self,
            step: SIGNAL_HZ * dt,
            smooth: (self.signal == Signal::Sine)
                .then_some((SIGNAL_VOLTS, SIGNAL_HZ * dt))
                .into_iter()
                .chain(DRIFT.iter().map(|&(volts, hz)| (volts, hz * dt)))
                .collect(),
            shift: CHANNEL_STEP_VOLTS * channel as f64 + offset,
            inv_gain: 1.0 / gain,
            glitches: self.glitches(channel, trc, segment),
            place: [channel, trc, segment],
            retry_key: derive_key(self.seed, &[purpose::NOISE_RETRY, channel, trc, segment]),
            jitter_key: derive_key(self.seed, &[purpose::JITTER, channel, trc, segment]),
        }
    }

    fn check(&self, start: u64, len: usize) -> Result<(), GenerateError> {
        if start as u128 + len as u128 > self.n_samples as u128 {
            return Err(GenerateError::OutOfRange { start, len, n_samples: self.n_samples });
        }
        Ok(())
    }

    /// Fills `out` with the ADC counts of samples `start .. start + out.len()` of segment
    /// `(channel, trc, segment)`, on the calling thread.
    pub fn fill(
        &self,
        channel: u64,
        trc: u64,
        segment: u64,
        start: u64,
        out: &mut [i16],
    ) -> Result<(), GenerateError> {
        self.check(start, out.len())?;
        let seg = self.segment(channel, trc, segment);
        for (tile_start, part) in tile_parts(start, out) {
            fill_tile(&seg, tile_start, part);
        }
        Ok(())
    }

    /// Like [`Recording::fill`], with the tiles spread over the rayon thread pool. The
    /// bytes are the same.
    pub fn fill_parallel(
        &self,
        channel: u64,
        trc: u64,
        segment: u64,
        start: u64,
        out: &mut [i16],
    ) -> Result<(), GenerateError> {
        self.check(start, out.len())?;
        let seg = self.segment(channel, trc, segment);
        let parts: Vec<(u64, &mut [i16])> = tile_parts(start, out).collect();
        parts.into_par_iter().for_each(|(tile_start, part)| fill_tile(&seg, tile_start, part));
        Ok(())
    }
}

/// `out` (samples from `start`) cut at the tile boundaries: `(first sample, part)`.
fn tile_parts(start: u64, out: &mut [i16]) -> impl Iterator<Item = (u64, &mut [i16])> {
    let mut rest = out;
    let mut pos = start;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let len = (TILE - (pos % TILE as u64) as usize).min(rest.len());
        let (part, tail) = std::mem::take(&mut rest).split_at_mut(len);
        rest = tail;
        let at = pos;
        pos += part.len() as u64;
        Some((at, part))
    })
}

/// Samples `start .. start + out.len()`, all inside one tile.
fn fill_tile(seg: &Segment<'_>, start: u64, out: &mut [i16]) {
    let tile = start / TILE as u64;
    let [c, t, s] = seg.place;
    let mut lanes = Lanes::from_key(derive_key(seg.rec.seed, &[purpose::NOISE, c, t, s, tile]));
    // The lanes run from the start of the tile, a step per LANES samples.
    let first_anchor = start - start % PIECE as u64;
    for _ in 0..(first_anchor - tile * TILE as u64) / LANES as u64 {
        lanes.step();
    }
    let zig = ziggurat();
    let mut bits = [0u64; PIECE];
    let mut noise = [0.0f64; PIECE];
    let mut volts = [0.0f64; PIECE];
    let mut pos = start;
    let mut rest = out;
    while !rest.is_empty() {
        // Pieces start at multiples of PIECE (but the first), so the phase of a sample
        // is computed the same way whatever block it is asked in.
        let anchor = pos - pos % PIECE as u64;
        let skip = (pos - anchor) as usize;
        let m = (PIECE - skip).min(rest.len());
        let (piece, tail) = std::mem::take(&mut rest).split_at_mut(m);
        rest = tail;
        let ctx = PieceCtx { anchor, skip, m };
        noise_into(seg, zig, &mut lanes, &ctx, &mut bits, &mut noise[..m]);
        signal_into(seg, &ctx, &mut volts[..m]);
        jitter_edges(seg, &ctx, &mut volts[..m]);
        add_event_and_glitches(seg, &ctx, &mut volts[..m]);
        digitise(seg, &ctx, &volts[..m], &noise[..m], piece);
        pos += m as u64;
    }
}

/// Independent xoshiro256++ streams advanced together, so the compiler vectorises them.
const LANES: usize = 8;

/// [`LANES`] xoshiro256++ generators: sample `k` of a tile takes the bits of lane
/// `k % LANES` at its step `k / LANES`.
struct Lanes {
    s: [[u64; LANES]; 4],
}

impl Lanes {
    /// The lanes of `key`: their states are successive outputs of SplitMix64 from `key`.
    fn from_key(key: u64) -> Self {
        let mut sm = SplitMix64::new(key);
        let mut s = [[0u64; LANES]; 4];
        for lane in 0..LANES {
            for word in &mut s {
                word[lane] = sm.next_u64();
            }
        }
        Self { s }
    }

    /// The next 64 bits of every lane.
    #[inline(always)]
    fn step(&mut self) -> [u64; LANES] {
        let [s0, s1, s2, s3] = &mut self.s;
        let mut out = [0u64; LANES];
        for l in 0..LANES {
            out[l] = s0[l].wrapping_add(s3[l]).rotate_left(23).wrapping_add(s0[l]);
            let t = s1[l] << 17;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = s3[l].rotate_left(45);
        }
        out
    }
}

/// The bits of a whole piece, then the ziggurat's fast path for samples `skip .. skip +
/// m`: a standard normal deviate, or NaN where the fast path rejects (1.2 % of samples).
#[inline(always)]
fn noise_fast_generic(
    z: &Ziggurat,
    lanes: &mut Lanes,
    ctx: &PieceCtx,
    bits: &mut [u64; PIECE],
    noise: &mut [f64],
) {
    for chunk in bits.chunks_exact_mut(LANES) {
        chunk.copy_from_slice(&lanes.step());
    }
    for (o, &b) in noise.iter_mut().zip(&bits[ctx.skip..ctx.skip + ctx.m]) {
        let (i, _, x) = zig_candidate(z, b);
        *o = if x.abs() < z.x[i + 1] { x } else { f64::NAN };
    }
}

/// The ziggurat's candidate from 64 random bits: layer (low 8 bits), `u` in [-1, 1) (high
/// 52 bits, through the exponent trick, which vectorises) and `x = u * X[layer]`.
#[inline(always)]
fn zig_candidate(z: &Ziggurat, b: u64) -> (usize, f64, f64) {
    let i = (b & 0xff) as usize;
    let u = f64::from_bits((b >> 12) | 0x3FF0_0000_0000_0000) * 2.0 - 3.0;
    (i, u, u * z.x[i])
}

/// The noise of a piece: the vectorised fast path, then the rare rejected samples, each
/// finished with a stream of its own (keyed by its index), so the result does not depend
/// on which samples were asked for.
fn noise_into(
    seg: &Segment<'_>,
    z: &Ziggurat,
    lanes: &mut Lanes,
    ctx: &PieceCtx,
    bits: &mut [u64; PIECE],
    noise: &mut [f64],
) {
    noise_fast(z, lanes, ctx, bits, noise);
    let first = ctx.anchor + ctx.skip as u64;
    for (k, chunk) in noise.chunks_mut(LANES).enumerate() {
        // A vectorised test per chunk; the rejected samples are rare.
        if !chunk.iter().fold(false, |any, v| any | v.is_nan()) {
            continue;
        }
        for (j, v) in chunk.iter_mut().enumerate() {
            if v.is_nan() {
                let at = k * LANES + j;
                let index = first + at as u64;
                *v = zig_retry(z, bits[ctx.skip + at], seg.retry_key, index);
            }
        }
    }
}

/// Finishes a sample the fast path rejected: the tail or wedge test for its candidate,
/// and if that fails a fresh deviate, both from the sample's own stream.
#[cold]
fn zig_retry(z: &Ziggurat, b: u64, key: u64, index: u64) -> f64 {
    let mut rng = Xoshiro256pp::from_key(derive_key(key, &[index]));
    let (i, u, x) = zig_candidate(z, b);
    rng.normal_slow(z, i, u, x).unwrap_or_else(|| rng.normal_with(z))
}

/// Where a piece lies: samples `anchor + skip .. anchor + skip + m`.
struct PieceCtx {
    anchor: u64,
    skip: usize,
    m: usize,
}

impl PieceCtx {
    /// Phase of sample `anchor + j`, in cycles of a sine of `step` cycles per sample.
    #[inline(always)]
    fn phase(&self, step: f64, j: f64) -> f64 {
        self.anchor as f64 * step + j * step
    }
}

/// The base signal of a piece, without jitter (vectorised through [`signal_into`]).
#[inline(always)]
fn signal_generic(seg: &Segment<'_>, ctx: &PieceCtx, volts: &mut [f64]) {
    let step = seg.step;
    let x0 = ctx.anchor as f64 * step;
    let js = &iota()[ctx.skip..ctx.skip + ctx.m];
    let signal = seg.rec.signal;
    macro_rules! fill_with {
        ($s:expr) => {
            for (v, &j) in volts.iter_mut().zip(js) {
                *v = base($s, x0 + j * step);
            }
        };
    }
    // One loop per signal, so each is a straight vector loop. The sine is part of the
    // smooth polynomial (see `smooth_poly`).
    match signal {
        Signal::Sine => volts.fill(0.0),
        Signal::Square => fill_with!(Signal::Square),
        Signal::Sawtooth => fill_with!(Signal::Sawtooth),
        Signal::Pulse => fill_with!(Signal::Pulse),
    }
}

/// The smooth part of the piece at `anchor` (the sines of `seg.smooth`) as a polynomial
/// in the sample offset `j`: `sum_k a[k] j^k`, the Taylor series about the anchor. The
/// first neglected term is below `0.1 V (2 pi 50 Hz * MAX_HORIZ_INTERVAL * PIECE)^9 / 9!`, 1e-11
/// V; at 2 ns it is below 1e-30 V.
fn smooth_poly(seg: &Segment<'_>, anchor: u64) -> [f64; TAYLOR] {
    let mut a = [0.0; TAYLOR];
    for &(volts, step) in &seg.smooth {
        let x = anchor as f64 * step;
        let r = x - round_int(x);
        let (sin, cos) = (sin_cycles(r), sin_cycles(r + 0.25));
        let omega = std::f64::consts::TAU * step;
        // d^k/dj^k sin(theta + omega j) = omega^k sin(theta + k pi / 2).
        let mut scale = volts;
        for (k, ak) in a.iter_mut().enumerate() {
            *ak += scale * [sin, cos, -sin, -cos][k % 4];
            scale *= omega / (k + 1) as f64;
        }
    }
    a
}

/// Digitises a piece: base + smooth part + noise + offsets, divided by the gain, rounded
/// to the nearest count and clamped to int16.
#[inline(always)]
fn digitise_generic(
    seg: &Segment<'_>,
    ctx: &PieceCtx,
    volts: &[f64],
    noise: &[f64],
    out: &mut [i16],
) {
    let a = smooth_poly(seg, ctx.anchor);
    let (shift, inv_gain) = (seg.shift, seg.inv_gain);
    let (lo, hi) = (i16::MIN as f64, i16::MAX as f64);
    let js = &iota()[ctx.skip..ctx.skip + ctx.m];
    for (((o, &v), &z), &j) in out.iter_mut().zip(volts).zip(noise).zip(js) {
        let mut smooth = a[TAYLOR - 1];
        for &ak in a[..TAYLOR - 1].iter().rev() {
            smooth = ak + j * smooth;
        }
        let adc = (v + smooth + NOISE_VOLTS * z + shift) * inv_gain;
        let adc = if adc < lo {
            lo
        } else if adc > hi {
            hi
        } else {
            adc
        };
        // The magic number's low 32 bits are the rounded integer: a conversion the
        // compiler vectorises, where a float-to-int cast is done lane by lane.
        *o = (adc + ROUND_MAGIC).to_bits() as i32 as i16;
    }
}

dispatch! {
    /// [`noise_fast_generic`] with the widest vector instructions of this CPU.
    fn noise_fast(
        z: &Ziggurat,
        lanes: &mut Lanes,
        ctx: &PieceCtx,
        bits: &mut [u64; PIECE],
        noise: &mut [f64],
    ) => noise_fast_generic;
}

dispatch! {
    /// [`signal_generic`] with the widest vector instructions of this CPU.
    fn signal_into(seg: &Segment<'_>, ctx: &PieceCtx, volts: &mut [f64]) => signal_generic;
}

dispatch! {
    /// [`digitise_generic`] with the widest vector instructions of this CPU.
    fn digitise(
        seg: &Segment<'_>,
        ctx: &PieceCtx,
        volts: &[f64],
        noise: &[f64],
        out: &mut [i16],
    ) => digitise_generic;
}

/// Re-evaluates the base signal at the jittered time for the samples near an edge.
fn jitter_edges(seg: &Segment<'_>, ctx: &PieceCtx, volts: &mut [f64]) {
    let edges = seg.rec.signal.edges();
    if edges.is_empty() {
        return;
    }
    let step = seg.step;
    let sigma = JITTER * step; // in cycles
    let reach = JITTER_REACH * sigma;
    let first = ctx.skip as f64;
    let last = (ctx.skip + ctx.m - 1) as f64;
    let (lo, hi) = (ctx.phase(step, first) - reach, ctx.phase(step, last) + reach);
    for &edge in edges {
        let mut k = (lo - edge).ceil();
        while k + edge <= hi {
            let at = k + edge;
            // Samples whose phase is within reach of this edge.
            let j_lo = ((at - reach) / step - ctx.anchor as f64).ceil().max(first);
            let j_hi = ((at + reach) / step - ctx.anchor as f64).floor().min(last);
            let mut j = j_lo;
            while j <= j_hi {
                let x = ctx.phase(step, j);
                if (x - at).abs() <= reach {
                    let i = ctx.anchor + j as u64;
                    let mut rng = Xoshiro256pp::from_key(derive_key(seg.jitter_key, &[i]));
                    volts[(j - first) as usize] = base(seg.rec.signal, x + sigma * rng.normal());
                }
                j += 1.0;
            }
            k += 1.0;
        }
    }
}

fn add_event_and_glitches(seg: &Segment<'_>, ctx: &PieceCtx, volts: &mut [f64]) {
    let from = ctx.anchor + ctx.skip as u64;
    let to = from + ctx.m as u64;
    let (e0, event) = seg.rec.event();
    let e1 = e0 + event.len() as u64;
    if e0 < to && from < e1 {
        let a = e0.max(from);
        let b = e1.min(to);
        for i in a..b {
            volts[(i - from) as usize] += event[(i - e0) as usize];
        }
    }
    for g in &seg.glitches {
        if (from..to).contains(&g.index) {
            volts[(g.index - from) as usize] += g.volts;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(signal: Signal, n: u64) -> Recording {
        Recording::new(42, signal, n, 2e-9).unwrap()
    }

    fn whole(r: &Recording, c: u64, t: u64, s: u64) -> Vec<i16> {
        let mut out = vec![0i16; r.n_samples() as usize];
        r.fill(c, t, s, 0, &mut out).unwrap();
        out
    }

    #[test]
    fn xoshiro_matches_the_reference_outputs() {
        // From the reference implementation, xoshiro256plusplus.c, state [1, 2, 3, 4].
        let mut rng = Xoshiro256pp::from_state([1, 2, 3, 4]);
        let expected = [
            41943041,
            58720359,
            3588806011781223,
            3591011842654386,
            9228616714210784205,
            9973669472204895162,
            14011001112246962877,
            12406186145184390807,
            15849039046786891736,
            10450023813501588000,
        ];
        for e in expected {
            assert_eq!(rng.next_u64(), e);
        }
    }

    #[test]
    fn splitmix_matches_the_reference_outputs() {
        let mut sm = SplitMix64::new(1234567);
        for e in [
            6457827717110365317,
            3203168211198807973,
            9817491932198370423,
            4593380528125082431,
            16408922859458223821,
        ] {
            assert_eq!(sm.next_u64(), e);
        }
    }

    #[test]
    fn ziggurat_tables_close_at_the_top() {
        let z = ziggurat();
        // The last layer reaches the density's peak, 1 at x = 0.
        let top = ZIG_V / z.x[255] + z.f[255];
        assert!((top - 1.0).abs() < 1e-9, "{top}");
        assert!(z.x.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn normal_deviates_have_the_right_moments_and_tails() {
        let mut rng = Xoshiro256pp::from_key(7);
        let n = 2_000_000;
        let (mut s1, mut s2, mut s4, mut beyond3) = (0.0, 0.0, 0.0, 0);
        for _ in 0..n {
            let x = rng.normal();
            s1 += x;
            s2 += x * x;
            s4 += x * x * x * x;
            if x.abs() > 3.0 {
                beyond3 += 1;
            }
        }
        let nf = n as f64;
        let (mean, var, kurt) = (s1 / nf, s2 / nf, s4 / nf);
        assert!(mean.abs() < 0.005, "mean {mean}");
        assert!((var - 1.0).abs() < 0.005, "variance {var}");
        assert!((kurt - 3.0).abs() < 0.05, "fourth moment {kurt}");
        // P(|x| > 3) = 0.0026998.
        let p = beyond3 as f64 / nf;
        assert!((p - 0.0027).abs() < 0.0003, "tail {p}");
    }

    #[test]
    fn piece_noise_is_standard_normal() {
        let r = rec(Signal::Sine, 1 << 30);
        let seg = r.segment(0, 0, 0);
        let z = ziggurat();
        let mut lanes = Lanes::from_key(5);
        let mut bits = [0u64; PIECE];
        let mut noise = [0.0f64; PIECE];
        let (mut s1, mut s2, mut s4, mut beyond3, mut n) = (0.0, 0.0, 0.0, 0, 0.0);
        for k in 0..2000u64 {
            let ctx = PieceCtx { anchor: k * PIECE as u64, skip: 0, m: PIECE };
            noise_into(&seg, z, &mut lanes, &ctx, &mut bits, &mut noise);
            for &x in &noise {
                assert!(x.is_finite());
                s1 += x;
                s2 += x * x;
                s4 += x * x * x * x;
                beyond3 += (x.abs() > 3.0) as u32;
                n += 1.0;
            }
        }
        let (mean, var, kurt) = (s1 / n, s2 / n, s4 / n);
        assert!(mean.abs() < 0.005, "mean {mean}");
        assert!((var - 1.0).abs() < 0.005, "variance {var}");
        assert!((kurt - 3.0).abs() < 0.05, "fourth moment {kurt}");
        let p = beyond3 as f64 / n;
        assert!((p - 0.0027).abs() < 0.0003, "tail {p}");
    }

    #[test]
    fn sin_cycles_matches_libm() {
        let mut worst: f64 = 0.0;
        for k in -20_000..20_000 {
            let x = k as f64 * 0.000_731 + 1e-9 * k as f64;
            worst = worst.max((sin_cycles(x) - (std::f64::consts::TAU * x).sin()).abs());
        }
        assert!(worst < 1e-12, "{worst}");
        assert_eq!(sin_cycles(0.0), 0.0);
    }

    #[test]
    fn smooth_polynomial_matches_the_sines() {
        for dt in [2e-9, 1e-7, MAX_HORIZ_INTERVAL] {
            let r = Recording::new(3, Signal::Sine, 1 << 40, dt).unwrap();
            let seg = r.segment(0, 0, 0);
            for anchor in [0u64, 1024, 7 << 20, 123_456 << 10, 1 << 36] {
                let a = smooth_poly(&seg, anchor);
                for j in [0usize, 1, 511, 1023] {
                    let t = (anchor + j as u64) as f64 * dt;
                    let want: f64 = [(SIGNAL_VOLTS, SIGNAL_HZ), DRIFT[0], DRIFT[1]]
                        .iter()
                        .map(|&(v, hz)| v * (std::f64::consts::TAU * hz * t).sin())
                        .sum();
                    let got: f64 = a.iter().rev().fold(0.0, |acc, &ak| ak + j as f64 * acc);
                    // The phase of t itself is only known to about 1e-16 * 2 pi f t; the
                    // series' remainder is below 0.1 (omega * PIECE)^9 / 9!.
                    let reach = std::f64::consts::TAU * SIGNAL_HZ * dt * PIECE as f64;
                    let tol = 1e-13
                        + 1e-15 * std::f64::consts::TAU * SIGNAL_HZ * t
                        + 0.1 * reach.powi(9) / 362_880.0;
                    assert!((got - want).abs() < tol, "dt {dt} at {anchor}+{j}: {got} {want}");
                }
            }
        }
    }

    #[test]
    fn rounding_helpers() {
        for (x, r, f) in [
            (0.4, 0.0, 0.0),
            (0.6, 1.0, 0.0),
            (-0.4, 0.0, -1.0),
            (-0.6, -1.0, -1.0),
            (2.5, 2.0, 2.0),
            (-3.0, -3.0, -3.0),
            (123456.75, 123457.0, 123456.0),
        ] {
            assert_eq!(round_int(x), r, "round {x}");
            assert_eq!(floor_int(x), f, "floor {x}");
        }
    }

    #[test]
    fn base_signals_match_their_formulas() {
        for k in 0..1000 {
            let x = k as f64 * 0.00937 + 0.0001;
            let sine = SIGNAL_VOLTS * (std::f64::consts::TAU * x).sin();
            assert!((base(Signal::Sine, x) - sine).abs() < 1e-13);
            let sq = SIGNAL_VOLTS * (std::f64::consts::TAU * x).sin().signum();
            assert_eq!(base(Signal::Square, x), sq, "square at {x}");
            let saw = SIGNAL_VOLTS * 2.0 * (x - (0.5 + x).floor());
            assert!((base(Signal::Sawtooth, x) - saw).abs() < 1e-15, "sawtooth at {x}");
            let pulse = if x % 1.0 < PULSE_DUTY { PULSE_VOLTS } else { 0.0 };
            assert_eq!(base(Signal::Pulse, x), pulse, "pulse at {x}");
        }
    }

    #[test]
    fn signal_names_round_trip() {
        for s in Signal::ALL {
            assert_eq!(Signal::from_name(s.name()).unwrap(), s);
        }
        let err = Signal::from_name("triangle").unwrap_err();
        assert_eq!(err, GenerateError::UnknownSignal("triangle".into()));
        assert!(err.to_string().contains("sine, square, sawtooth, pulse"));
    }

    #[test]
    fn the_event_sits_where_the_original_put_it() {
        let r = rec(Signal::Sine, 1_000_000);
        let (start, event) = r.event();
        assert_eq!(start, 221_749);
        assert_eq!(event.len(), 126);
        assert_eq!(event[0], 0.0);
        // u = 20 / 125 at k = 1, 2 ns after the start: a fifth of a 50 MHz period.
        let u: f64 = 20.0 / 125.0;
        let v1 = EVENT_VOLTS * (-u).exp() * (std::f64::consts::TAU * 0.1).sin();
        assert!((event[1] - v1).abs() < 1e-15, "{} {v1}", event[1]);
        assert!(event[1] < -0.02);
        // The original's sin(2 pi 50 u) would have been zero at every sample.
        assert!((std::f64::consts::TAU * 50.0 * u).sin().abs() < 1e-13);
        // A segment ending before the event's end has none.
        assert!(rec(Signal::Sine, 221_874).event().1.is_empty());
        assert_eq!(rec(Signal::Sine, 221_875).event().1.len(), 126);
    }

    #[test]
    fn blocks_and_threads_do_not_change_the_bytes() {
        for signal in Signal::ALL {
            let n = 3 * TILE as u64 + 1234;
            let r = rec(signal, n);
            let all = whole(&r, 1, 0, 2);
            let mut par = vec![0i16; n as usize];
            r.fill_parallel(1, 0, 2, 0, &mut par).unwrap();
            assert_eq!(par, all, "{signal:?} parallel");
            // Odd block sizes, blocks straddling tiles and pieces.
            for block in [1000usize, 1024, 4099, TILE - 1, TILE + 3] {
                let mut joined = vec![0i16; n as usize];
                let mut pos = 0usize;
                while pos < n as usize {
                    let end = (pos + block).min(n as usize);
                    r.fill(1, 0, 2, pos as u64, &mut joined[pos..end]).unwrap();
                    pos = end;
                }
                assert_eq!(joined, all, "{signal:?} block {block}");
            }
            // Single samples and short runs anywhere (each regenerates its tile's prefix).
            for start in [0usize, 1, 1023, 1024, TILE - 1, TILE, 2 * TILE + 517, n as usize - 3] {
                for len in [1usize, 3] {
                    let end = (start + len).min(n as usize);
                    let mut part = vec![0i16; end - start];
                    r.fill(1, 0, 2, start as u64, &mut part).unwrap();
                    assert_eq!(part, &all[start..end], "{signal:?} at {start}");
                }
            }
        }
    }

    #[test]
    fn vector_and_generic_paths_agree() {
        let ctx = PieceCtx { anchor: 3072, skip: 5, m: 1000 };
        let noise: Vec<f64> = (0..1000).map(|k| (k as f64 * 0.37).sin() * 3.0).collect();
        for signal in Signal::ALL {
            let r = rec(signal, 5000);
            let seg = r.segment(0, 0, 0);
            let mut a = vec![0.0; 1000];
            let mut b = vec![0.0; 1000];
            signal_generic(&seg, &ctx, &mut a);
            signal_into(&seg, &ctx, &mut b);
            assert_eq!(a, b, "{signal:?}");
            let mut da = vec![0i16; 1000];
            let mut db = vec![0i16; 1000];
            digitise_generic(&seg, &ctx, &a, &noise, &mut da);
            digitise(&seg, &ctx, &b, &noise, &mut db);
            assert_eq!(da, db, "{signal:?}");
        }
    }

    #[test]
    fn seeds_and_segments_give_different_data() {
        let n = 10_000;
        let a = whole(&rec(Signal::Sine, n), 0, 0, 0);
        assert_eq!(a, whole(&rec(Signal::Sine, n), 0, 0, 0));
        let other_seed = Recording::new(43, Signal::Sine, n, 2e-9).unwrap();
        assert_ne!(a, whole(&other_seed, 0, 0, 0));
        assert_ne!(a, whole(&rec(Signal::Sine, n), 0, 0, 1));
        assert_ne!(a, whole(&rec(Signal::Sine, n), 0, 1, 0));
    }

    #[test]
    fn noise_level_and_offsets() {
        let n = 200_000u64;
        let r = rec(Signal::Sine, n);
        let (gain, offset) = r.vertical(1, 0);
        assert!((GAIN * 0.98..=GAIN * 1.02).contains(&gain));
        assert!((-0.21..=-0.19).contains(&offset));
        let adc = whole(&r, 1, 0, 0);
        let glitches = r.glitches(1, 0, 0);
        let (e0, event) = r.event();
        // Residual after the deterministic part, in volts, outside event and glitches.
        let dt = 2e-9;
        let mut s1 = 0.0;
        let mut s2 = 0.0;
        let mut count = 0.0;
        for (i, &a) in adc.iter().enumerate() {
            let i = i as u64;
            if (e0..e0 + event.len() as u64).contains(&i) || glitches.iter().any(|g| g.index == i) {
                continue;
            }
            let t = i as f64 * dt;
            let det = SIGNAL_VOLTS * (std::f64::consts::TAU * SIGNAL_HZ * t).sin()
                + 0.01 * (std::f64::consts::TAU * 0.1 * t).sin()
                + 0.005 * (std::f64::consts::TAU * 0.5 * t).sin()
                + CHANNEL_STEP_VOLTS;
            let res = a as f64 * gain - offset - det;
            s1 += res;
            s2 += res * res;
            count += 1.0;
        }
        let mean = s1 / count;
        let sd = (s2 / count - mean * mean).sqrt();
        assert!(mean.abs() < 1e-4, "mean {mean}");
        assert!((sd - NOISE_VOLTS).abs() < 2e-4, "noise {sd}");
    }

    #[test]
    fn glitches_lie_in_the_segment_with_their_heights() {
        let r = rec(Signal::Pulse, 1000);
        for s in 0..50 {
            for g in r.glitches(0, 0, s) {
                assert!(g.index < 1000);
                assert!((GLITCH_MIN_VOLTS..=GLITCH_MAX_VOLTS).contains(&g.volts.abs()));
            }
        }
    }

    #[test]
    fn square_edges_are_jittered_only_at_the_edges() {
        // 10 ms half period = 5_000_000 samples; the edge at sample 5e6 exactly.
        let r = rec(Signal::Square, 5_000_100);
        let seg = r.segment(0, 0, 0);
        let anchor = 5_000_000 - 5_000_000 % PIECE as u64;
        let ctx = PieceCtx { anchor, skip: 0, m: PIECE };
        let mut plain = vec![0.0; PIECE];
        signal_generic(&seg, &ctx, &mut plain);
        let mut jittered = plain.clone();
        jitter_edges(&seg, &ctx, &mut jittered);
        let changed: Vec<usize> = (0..PIECE).filter(|&j| plain[j] != jittered[j]).collect();
        // Only the sample at the edge can change (at most 1.2 ns from it).
        assert!(changed.iter().all(|&j| anchor + j as u64 == 5_000_000), "{changed:?}");
        // Across many segments the edge sample takes both values.
        let mut seen = std::collections::HashSet::new();
        for s in 0..64 {
            let seg = r.segment(0, 0, s);
            let mut v = plain.clone();
            jitter_edges(&seg, &ctx, &mut v);
            seen.insert(v[(5_000_000 - anchor) as usize].to_bits());
        }
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn the_free_functions_agree_with_the_recording() {
        for n in [1_000u64, 221_874, 221_875, 1 << 40] {
            for dt in [2e-9, 3.3e-9, 1e-7, MAX_HORIZ_INTERVAL] {
                let r = Recording::new(9, Signal::Square, n, dt).unwrap();
                let e = event(n, dt).unwrap();
                assert_eq!((e.start, e.volts.as_slice()), r.event(), "n {n} dt {dt}");
                assert_eq!(glitches(9, n, 1, 2, 3).unwrap(), r.glitches(1, 2, 3));
            }
        }
        assert_eq!(glitches(9, 0, 1, 2, 3).unwrap_err(), GenerateError::NoSamples);
        assert_eq!(event(0, 2e-9).unwrap_err(), GenerateError::NoSamples);
        assert!(matches!(event(10, 0.0).unwrap_err(), GenerateError::BadInterval(_)));
    }

    #[test]
    fn bad_arguments_are_reported() {
        assert_eq!(Recording::new(0, Signal::Sine, 0, 2e-9).unwrap_err(), GenerateError::NoSamples);
        for dt in [-1.0, 0.0, 2e-6, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Recording::new(0, Signal::Sine, 10, dt).unwrap_err(),
                GenerateError::BadInterval(_)
            ));
        }
        assert!(Recording::new(0, Signal::Sine, 10, MAX_HORIZ_INTERVAL).is_ok());
        let r = rec(Signal::Sine, 10);
        let mut out = [0i16; 4];
        assert!(matches!(
            r.fill(0, 0, 0, 7, &mut out).unwrap_err(),
            GenerateError::OutOfRange { .. }
        ));
        assert!(r.fill(0, 0, 0, 6, &mut out).is_ok());
    }
}
