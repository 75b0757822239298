#![warn(missing_docs)]
//! Program output: the stage picture and its sound, sent live through ffmpeg.
//!
//! - [`preset`]: sizes and bitrates for landscape, vertical and square outputs.
//! - [`target`]: output URLs (`rtmp://`, `rtmps://`, `srt://`, `udp://`, a file,
//!   `v4l2:/dev/videoN`) and the ffmpeg command line for each.
//! - [`session`]: one running output. Frames and audio are handed over without ever blocking
//!   the show; a writer thread paces them to ffmpeg at the output frame rate, and a failed
//!   output is retried with backoff.

pub mod preset;
pub mod session;
pub mod target;
