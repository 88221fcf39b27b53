"""Finding ultrasonic vocalizations (USVs) in long recordings.

Two detectors share one streaming frame (:func:`detect_file`):

``paper``
    Ivanenko et al. 2020 (Methods, "Data processing and extraction of vocalizations"), step by step:
    4th-order Butterworth high-pass at 25 kHz; |FFT| of 500-sample Hann windows with 50 % overlap;
    values below the 70th percentile of the whole spectrogram set to zero; a frame is kept when any
    bin exceeds the 99.8th percentile (energy) and the peak frequency moves little (spectral
    continuity: frequency jumps of the peak, summed over 4 steps forwards and backwards, the smaller
    sum below 15 bins); runs of kept frames whose energy-weighted mean frequency is below 25 kHz are
    dropped; calls closer than 15 ms are merged. The percentiles are of the *whole recording*, so
    this method reads the file twice (a histogram pass, then detection); memory stays bounded.

``default``
    The project's detector. Everything is set in seconds and Hz, so it behaves the same at 250 and
    300 kHz. Per chunk:

    1. power spectrogram (1 ms Hann windows, 0.5 ms hop) of the USV band, lightly smoothed across
       frequency;
    2. *whitening*: each frequency bin is divided by its noise floor, measured on the quietest frames
       within ``floor_window_s`` (4 s) around each half second (so constant tonal bands, coloured noise
       and low-frequency leakage flatten out, dense bouts or bursts do not inflate the floor, and the
       floor follows broadband noise that rises or falls for seconds);
    3. *local spectral contrast*: each bin minus the mean level 2-8 kHz to either side (a narrowband
       call stands out; broadband clicks, bursts and clipping splatter do not), with a penalty that
       grows with the local broadband level, because the spectra of loud bursts carry ripples and
       resonances that look like faint tones;
    4. *ridge integration*: contrast summed along the best path through +/-1 ms of neighbouring frames
       whose frequency may drift by up to 4 kHz/ms, which rewards contours and suppresses isolated
       noise bins (a cheap, vectorised stand-in for contour tracking);
    5. per frame, the best ridge score;
    6. *segmentation with trajectory bridging*: the runs of frames above ``hysteresis_db`` are
       fragments; a fragment that starts where an earlier one ended in frequency (within
       ``bridge_df_hz``, across a gap of up to ``bridge_gap_s``; or, where a louder noise band is its
       strongest bin, that holds the hysteresis level there) continues it, when the gap is a fade
       inside one call rather than the silence between two: along the line joining them the ridge
       (without the broadband penalty) is missing for no longer than ``bridge_fade_s``. A chain of
       fragments is a call when it reaches ``threshold_db`` somewhere, so the faint pieces of a call
       that fades or passes through broadband noise stay part of it (before, only the pieces that
       reached the threshold were kept, and a faint call came out as a short piece: a miss and a false
       detection), while a neighbour at another frequency, or after real silence, stays apart. Then
       gaps shorter than ``merge_gap_s`` are merged (harmonics, frequency jumps and two-syllable calls
       stay one call because detection works on time, not on blobs), too-short runs dropped, and a
       small ``pad_s`` added at both ends for the faint onset and offset below the noise;
    7. *sustained evidence*: where the best ridge score averaged over ``sustain_s`` (5 ms) stands
       ``sustain_db`` (3 dB) above its median in the 0.5 s block, there is a faint call even if it never
       reaches the threshold (averaging shrinks the noise's spread, a held tone's level stays). Such a run
       that overlaps no call is a call of its own (its averaging windows); one that overlaps a call, less
       half a window at either end (the average's spread of a clear call), joins it, so the faint remainder
       of a call of which only a piece reached the threshold joins the piece, and clear calls keep their
       extent. The level is fixed from pure noise (1.5 dB above the 5 ms average's maximum over minutes), not
       chosen on clips.

    The segmentation settings (thresholds, gaps, minimum duration, padding) and the broadband
    penalty are the ones read off real clips; they were chosen again leave-one-clip-out on the four
    annotated AMVOC clips, and the shipped values are the choice on all four
    (:func:`usvflow.detect.selection.loco_table`, ``figures/detection_selection.csv``).

    The thresholds are in dB of ridge contrast; with the default settings pure Gaussian noise stays
    below about 7 dB over minutes, at either sample rate.

    Speed: steps 1-5 run on float32 (frequency, time) arrays in cache-sized blocks of frames, the Hann
    window is applied in the frequency domain (so the FFT reads the recording's frames in place), only
    the band's bins are kept, and nothing calls BLAS. Still, much of it is many small numpy steps that
    hold the GIL in between, so two chunk threads fill about one core: on a recording of at least
    ``PROCESS_MIN_CHUNKS`` chunks without an overview, chunks run in worker processes that read their
    own chunks (identical results; a 30-min 300 kHz file in about 6 s on 2 cores, 11 s on one). About
    70 ms of CPU per 12 s chunk at 300 kHz. The floor's stationary lines are found for all 0.5 s blocks
    of a chunk at once.

Both detectors stream the file in chunks (:func:`usvflow.audio.io.iter_chunks`) that overlap by
``overlap_s``. Each chunk reports only the calls that start in its own stretch of the recording, and a
call that overlaps one already reported from the previous chunk is dropped, so a call across a chunk
boundary is found exactly once. Memory is bounded by the chunk size whatever the file length.

Outputs (:class:`Detections`)
    ``calls``: one row per call, columns :data:`CALL_COLUMNS` (times in s from the file start,
    frequencies in Hz of the peak contour, ``peak_amplitude`` as the amplitude of a full-scale-1.0 sine
    that would give the call's strongest spectral peak, ``snr_db`` above the noise floor, ``score`` the
    detector's own evidence in dB).

    ``spectrograms``: the paper's representation, an ``(n, 100, 100)`` uint8 array (memory-mapped from
    an anonymous temporary file, copy-on-write, so long recordings need no more memory), one image per call:
    rows are frequency (row 0 = ``IMAGE_F_LO_HZ``, 1 kHz per row, up to 125 kHz), columns are time
    (1 ms per column from the onset; calls longer than 100 ms are truncated, shorter calls fill the
    left columns and the rest is 0 — the same scale for every call, so the aspect ratio is kept);
    values are dB relative to the call's maximum (``image_level="call"``) or to a full-scale sine
    (``"full_scale"``, which keeps the call's level), ``image_dynamic_range_db`` mapped to 0..255; the default
    method first takes off each row the excess of the recording's stationary noise floor over its median
    (tonal bands, low-frequency leakage); with either method, bins less than ``image_floor_margin_db`` above
    the median bin of the call's image are set to 0 (the paper's sparse images). The images show the call,
    not the recording: no grey floor whose level would tell a network each recording's noise level.
    :func:`save_spectrograms` writes them to an ``.npz`` file with the time/frequency axes.

Modules (stage 3)
    ``params`` columns, image geometry and each method's defaults; ``stream`` the streaming driver
    (:func:`detect_file`) and :func:`detect_variants` (many settings on one clip, for choosing them);
    ``default`` (steps 1-5, the evidence) and ``segments`` (step 6, the calls) the project's detector on
    one chunk; ``paper`` the paper's; ``images`` the call images; ``calls`` the result types shared by
    both; ``export`` ``.npz`` images and Raven tables; ``evaluate`` detections scored against a reference
    and the detection benchmark; ``selection`` the default detector's settings chosen leave-one-clip-out.
    The spectrogram arithmetic lives in :mod:`usvflow.audio.stft`; the overview plot in
    :mod:`usvflow.figures.detection`.
"""

from .calls import Detections, Overview
from .export import load_spectrograms, save_spectrograms, write_raven
from .params import CALL_COLUMNS, DEFAULT_PARAMS, METHODS, resolve_params
from .stream import detect_array, detect_file, detect_variants

__all__ = [
    "CALL_COLUMNS",
    "DEFAULT_PARAMS",
    "METHODS",
    "Detections",
    "Overview",
    "detect_file",
    "detect_array",
    "detect_variants",
    "resolve_params",
    "save_spectrograms",
    "load_spectrograms",
    "write_raven",
]
