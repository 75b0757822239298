//! Faults during a show, in a headless app running every simulation system: the camera file
//! goes away and comes back, the microphone is unplugged and replugged, a VMC flood with
//! malformed packets, an avatar file deleted or cut short while it is switched to.
