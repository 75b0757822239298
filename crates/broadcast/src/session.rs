//! One output: an ffmpeg process fed with frames and sound, its statistics and its retries.
