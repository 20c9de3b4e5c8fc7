"""The two passes over a video (analyse, render), stills, folders, and the report.

    analyse:  decode -> detect -> track                     -> Analysis
    decide:   Analysis.tracks + policy                      -> TrackDecision per track
    render:   decode -> redact (tracks to hide) -> encode  -> output file
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from app.pipeline import models
from app.pipeline.analysis import Analysis
from app.pipeline.boxes import clip_boxes, iou_matrix, long_side_px, scale_boxes
from app.pipeline.decide import Policy
from app.pipeline.decode import (FrameClock, iter_video_frames, main_video_stream,
                                 open_container, probe_video, to_display_rgb, yuv420_planes)
from app.pipeline.detect import (NMS_MAX_IOU, CenterFace, FaceDetector, absorb_contained,
                                 concurrent_calls, detect_turned, merge_union, mirror_faces,
                                 sure_faces, turn_faces_back, turn_image, vote,
                                 without_weak_echoes)
from app.pipeline.schedule import (FAST_PHOTO_PLAN, OTHER_NETWORKS_MIN_SCORE, STILL_AGREE_MIN_IOU,
                                   STILL_MIN_SCORE, STILL_TURN_PROBE,
                                   STILL_TURN_SCORE_FLOOR, THOROUGH_PHOTO_PLAN,
                                   STILL_TURNED_SCORE_FACTOR, VIDEO_PROBE_TURNS,
                                   VIDEO_SURE_UPRIGHT_SCORE, VIDEO_TURNED_SCORE_FACTOR,
                                   VIDEO_WEAK_SCORE_FACTOR, VIDEO_WEAK_TRACK_MIN_DETECTIONS,
                                   PhotoDetectionPlan, VideoDetectionPlan, photo_quarter_turns,
                                   still_hide_scales, still_plan, VIDEO_FULL_RES_MAX_BASE_FACE_PX,
                                   VIDEO_SMALL_FACE_BASE_PX, video_plan)
from app.pipeline.embed import FaceEmbedder
from app.pipeline.images import read_image, write_image
from app.pipeline.encode import VideoWriter
from app.pipeline.people import (IdentityOptions, References, decide_tracks, load_references,
                                 sample_collector, with_samples)
from app.pipeline.errors import InputError, OutputError, ProcessingError
from app.pipeline.progress import ANALYSE_SHARE, CancelFn, ProgressFn, ProgressMeter
from app.pipeline.redact import redact_frame, redact_yuv420
from app.pipeline.prefetch import prefetch
from app.pipeline.scene import frame_signature, frame_signature_yuv420, is_scene_cut
from app.pipeline.track import RawTrack, Tracker, boxes_per_frame, finalize_tracks
from app.pipeline.types import (AnonymizeOptions, DetectOptions, FaceBoxes, TrackDecision,
                                TrackOptions, VideoInfo)

log = logging.getLogger(__name__)

YUV420_FORMATS = {"yuv420p", "yuvj420p"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
VIDEO_SUFFIX = ".mp4"
SampleFn = Callable[[int, np.ndarray, FaceBoxes, np.ndarray], None]


# Detection frames submitted per detection thread. Analysis pass on 2 cores, 3 interleaved
# runs, median (ad hoc): 720p 4.73 s one frame at a time with two threads per call; with one
# thread per call and 5 frames submitted at most 4.20 s, 8 frames 4.19 s, 16 frames 4.14 s;
# 1080p 7.42 / 6.85 / 5.87 / 5.84 s; the 720p clip at 25 fps 7.14 / 5.43 / 5.56 / 5.83 s.
DETECTION_FRAMES_PER_WORKER = 4


def analyse_video(input_path: Path, options: AnonymizeOptions, *, detector: FaceDetector,
                  full_res_detector: FaceDetector | None = None,
                  progress: ProgressFn | None = None, should_cancel: CancelFn | None = None,
                  on_faces: SampleFn | None = None, info: VideoInfo | None = None) -> Analysis:
    """First pass: find and track every face. ``detector`` runs the base and turned passes,
    ``full_res_detector`` (``detector`` unless given) the full-resolution passes for small
    faces. ``on_faces(frame_index, image_rgb, faces, track_ids)`` is called on each detection
    frame (identity uses it to keep good crops).

    Detection frames run as many at once as both detectors allow (``concurrent_calls``: two on
    2 cores, one ONNX Runtime thread each) and are tracked in order. Which turned passes a frame
    gets depends on what earlier frames found: a frame started before the one ahead of it was
    done gets the turns known then, and the turns that one switched on run when the frame is
    taken up in order. So every frame gets the passes it would get one frame at a time."""
    info = info or probe_video(input_path)
    fps = float(info.average_rate) or 25.0
    plan = detection_plan(info, options)
    full_res_detector = full_res_detector or detector
    state = _TurnsFound(plan)
    tracker = Tracker(max_gap_frames=int(round(options.track.max_gap_s * fps)),
                      min_match=options.track.min_iou, sure_score=options.detect.min_score,
                      min_weak_detections=VIDEO_WEAK_TRACK_MIN_DETECTIONS)
    meter = ProgressMeter("analysing", info.frame_count_estimate, progress, should_cancel,
                          0.0, ANALYSE_SHARE)
    turned_min_score = VIDEO_TURNED_SCORE_FACTOR * options.detect.min_score
    floor = video_detection_floor(options)
    pts: list[int] = []
    cut_frames: list[int] = []
    detected_frames = 0

    workers = concurrent_calls(detector, full_res_detector)
    pool = ThreadPoolExecutor(workers, thread_name_prefix="veil-detect")

    def detect(image, sides, turns, small_turns, earlier=None) -> FrameFaces:
        return detect_video_frame(detector, image, sides, turns, plan.base_max_side_px,
                                  turned_min_score, full_res_detector, small_turns, earlier)

    def take_up(frame, detecting: Future | None) -> None:
        nonlocal detected_frames
        index, pts_i, is_cut, sides, image = frame
        if is_cut:
            cut_frames.append(index)
        if detecting is not None:
            frame_faces = detecting.result()
            turns, small_turns = state.turns_for(index, is_cut, sides)
            if not (set(turns) <= frame_faces.turned.keys()
                    and set(small_turns) <= frame_faces.turned_small.keys()):
                # In the pool too, so no more than ``workers`` calls run at once.
                frame_faces = pool.submit(detect, image, sides, turns, small_turns, frame_faces).result()
            faces = frame_faces.merged()
            faces = faces[faces.score >= floor]  # a detector given here may report lower
            faces = without_weak_echoes(faces, options.detect.min_score)
            state.update(index, frame_faces)
            track_ids = tracker.update(index, faces, is_cut)
            state.found_turned.update(tracks_touching(faces, track_ids, frame_faces.all_turned()))
            detected_frames += 1
            if on_faces is not None and len(faces):
                on_faces(index, image, faces, track_ids)
        pts.append(pts_i)
        meter.advance()

    # Up to DETECTION_FRAMES_PER_WORKER frames per worker are submitted, so that the workers keep
    # busy while the frame in front, a probe frame with several passes, takes several times as
    # long as the others. One frame at a time when the detectors allow one call at a time.
    ahead = DETECTION_FRAMES_PER_WORKER * workers if workers > 1 else 1
    waiting: deque = deque()  # (frame, Future or None), in frame order
    submitted = 0
    frames = prefetch(_frames_to_analyse(info, plan))
    try:
        for frame in frames:
            index, _, is_cut, sides, image = frame
            detecting = None
            if sides:
                detecting = pool.submit(detect, image, sides, *state.turns_for(index, is_cut, sides))
                submitted += 1
            waiting.append((frame, detecting))
            while waiting and (waiting[0][1] is None or submitted >= ahead):
                submitted -= waiting[0][1] is not None
                take_up(*waiting.popleft())
        while waiting:
            take_up(*waiting.popleft())
    finally:  # on cancel or error, queued frames are dropped at once; running ones finish
        pool.shutdown(wait=False, cancel_futures=True)
        frames.close()
        pool.shutdown(wait=True)
    frame_count = len(pts)
    if frame_count == 0:
        raise InputError(f"{Path(input_path).name!r} has a video stream with zero frames.")
    tracks = finalize_tracks(tracker.finish(), frame_count, cut_frames, fps, options.track,
                             info.resolution_wh,
                             lambda raw: min_pad_frames(raw, plan, info, raw.track_id in state.found_turned),
                             small_face_px(plan, info))
    meter.report(final=True)
    return Analysis(info, frame_count, np.asarray(pts, np.int64), tracks, cut_frames,
                    detected_frames=detected_frames)


class _TurnsFound:
    """What the turned passes found so far, which decides the turns of the next frames."""

    def __init__(self, plan: VideoDetectionPlan) -> None:
        self.plan = plan
        self.last_found_by_turn: dict[int, int] = {}
        self.last_found_small_by_turn: dict[int, int] = {}
        # Tracks a turned pass found: upright passes see such a face only now and then, so it
        # may have been there since that turn's previous probe (padded back a whole cycle).
        self.found_turned: set[int] = set()

    def turns_for(self, index: int, is_cut: bool, sides: tuple[int, ...]
                  ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Quarter turns for the base pass and for the full-resolution pass (small people lying
        down; only on frames with one) on this detection frame. Never fewer once more frames'
        finds are known: a turn stays on for a cycle after its last find."""
        # A new scene (the first frame too) gets every turn at once, as it gets every scale.
        if (is_cut or index == 0) and self.plan.turn_probe_every_n_frames:
            turns = small_turns = VIDEO_PROBE_TURNS
        else:
            turns = self.plan.turns_for_frame(index, self.last_found_by_turn)
            small_turns = self.plan.full_res_turns_for_frame(index, self.last_found_small_by_turn)
        return turns, small_turns if len(sides) > 1 else ()

    def update(self, index: int, faces: FrameFaces) -> None:
        self.last_found_by_turn.update((k, index) for k, t in faces.turned.items() if len(t))
        self.last_found_small_by_turn.update((k, index) for k, t in faces.turned_small.items() if len(t))


@dataclass(frozen=True)
class FrameFaces:
    """One detection frame's faces: upright (the base pass with the full-resolution pass's
    small faces) and, per quarter turn run, the turned faces that counted at the base scale
    (turned) and at full resolution (turned_small)."""

    upright: FaceBoxes
    turned: dict[int, FaceBoxes]
    turned_small: dict[int, FaceBoxes]

    def all_turned(self) -> FaceBoxes:
        return FaceBoxes.concatenate([*(self.turned[k] for k in sorted(self.turned)),
                                      *(self.turned_small[k] for k in sorted(self.turned_small))])

    def merged(self) -> FaceBoxes:
        """All faces, one box per face."""
        if not self.turned and not self.turned_small:
            return self.upright
        return merge_union(FaceBoxes.concatenate([self.upright, self.all_turned()]))


def detect_video_frame(detector: FaceDetector, image_rgb: np.ndarray, sides: tuple[int, ...],
                       turns: tuple[int, ...], turned_side_px: int, turned_min_score: float,
                       full_res_detector: FaceDetector | None = None,
                       full_res_turns: tuple[int, ...] = (),
                       earlier: FrameFaces | None = None) -> FrameFaces:
    """Faces on one detection frame: the frame at each of ``sides`` (long side, px; the base
    pass first, by ``detector``, then the full-resolution pass, by ``full_res_detector``, which
    reports only faces under VIDEO_FULL_RES_MAX_BASE_FACE_PX at the base scale), and turned by
    each of ``turns`` quarters at ``turned_side_px``, and at full resolution (``sides[1]``, by
    ``full_res_detector``, small faces only) turned by each of ``full_res_turns`` (none on a
    frame without a full-resolution pass). A full-resolution face lying inside a base-pass box
    is that face (absorb_contained). A turned face counts when it scores >= turned_min_score
    and no sure upright face (>= VIDEO_SURE_UPRIGHT_SCORE) overlaps it: CenterFace also finds
    upright faces on turned frames, with looser boxes. ``earlier``: this frame's passes already
    run (only the others run now)."""
    full_res_detector = full_res_detector or detector
    base_scale = sides[0] / max(image_rgb.shape[:2])

    def small_only(faces: FaceBoxes) -> FaceBoxes:
        return faces[long_side_px(faces.xyxy) * base_scale < VIDEO_FULL_RES_MAX_BASE_FACE_PX]

    if earlier is None:
        found = [detector.detect(image_rgb, sides[0])]
        found += [small_only(full_res_detector.detect(image_rgb, side)) for side in sides[1:]]
        upright = found[0] if len(found) == 1 else merge_union(
            absorb_contained(found[0], FaceBoxes.concatenate(found[1:])))
        earlier = FrameFaces(upright, {}, {})
    full_res_turns = full_res_turns if len(sides) > 1 else ()
    upright = earlier.upright
    sure = upright.xyxy[upright.score >= VIDEO_SURE_UPRIGHT_SCORE]

    def counted(faces: FaceBoxes) -> FaceBoxes:
        keep = faces.score >= turned_min_score
        if len(sure) and keep.any():
            keep &= ~(iou_matrix(faces.xyxy, sure) > NMS_MAX_IOU).any(axis=1)
        return faces[keep]
    turned = dict(earlier.turned)
    turned.update((k, counted(detect_turned(detector, image_rgb, k, turned_side_px)))
                  for k in turns if k not in turned)
    turned_small = dict(earlier.turned_small)
    turned_small.update((k, counted(small_only(detect_turned(full_res_detector, image_rgb, k, sides[1]))))
                        for k in full_res_turns if k not in turned_small)
    return FrameFaces(upright, turned, turned_small)


def tracks_touching(faces: FaceBoxes, track_ids: np.ndarray, source: FaceBoxes) -> set[int]:
    """Ids of the tracks whose face on this frame is one of ``source``'s faces: the face each
    source box overlaps most (the one it was merged into), and any face overlapping a source
    box by more than NMS_MAX_IOU. A large loose box that merely touches a source face is
    another face: on YouTube Faces tilted 135 degrees, a weak 150-px upright false detection
    that touched a turned face was padded a whole turn cycle and hid most of the frame."""
    if not len(faces) or not len(source):
        return set()
    iou = iou_matrix(faces.xyxy, source.xyxy)
    same = iou > NMS_MAX_IOU
    touched = np.flatnonzero(iou.max(axis=0) > 0)
    same[iou[:, touched].argmax(axis=0), touched] = True
    return {int(i) for i in track_ids[same.any(axis=1)]}


def _frames_to_analyse(info: VideoInfo, plan: VideoDetectionPlan):
    """(index, pts, is_cut, detector sides, display RGB or None) per frame. Runs in the
    prefetch thread: decoding, the cut test and the RGB conversion overlap detection."""
    all_sides = tuple(dict.fromkeys((plan.base_max_side_px, plan.full_res_max_side_px)))
    previous_signature = None
    for index, pts, frame in iter_video_frames(info):
        if frame.format.name in YUV420_FORMATS:
            signature = frame_signature_yuv420(*yuv420_planes(frame))
        else:
            signature = frame_signature(frame.to_ndarray(format="rgb24"))
        is_cut = is_scene_cut(previous_signature, signature)
        previous_signature = signature
        # A new scene gets every scale at once: nothing carries over from the last one.
        sides = all_sides if is_cut else plan.sides_for_frame(index)
        image = to_display_rgb(frame, info.rotation_deg) if sides else None
        yield index, pts, is_cut, sides, image


def detection_plan(info: VideoInfo, options: AnonymizeOptions) -> VideoDetectionPlan:
    """The measured schedule for this video, with any overrides from the options."""
    plan = video_plan(info.width, info.height, float(info.average_rate) or 25.0)
    detect = options.detect
    base = detect.base_max_side_px or plan.base_max_side_px
    every = detect.detect_every_n_frames or plan.detect_every_n_frames
    turn_every = (plan.turn_probe_every_n_frames if detect.turn_probe_every_n_frames is None
                  else detect.turn_probe_every_n_frames)
    full_every = -(-plan.full_res_every_n_frames // every) * every
    full_turn_every = -(-plan.full_res_turn_probe_every_n_frames // (full_every or 1)) * full_every
    return VideoDetectionPlan(base, every, full_every, max(plan.full_res_max_side_px, base),
                              -(-turn_every // every) * every, full_turn_every)


# A face whose longer side is below this many pixels at the base scale may be invisible to the
# base pass for many frames: the full-resolution passes are the ones that see it (and they
# report only such faces). On WIDER val photos taken as 720p frames, the base pass found faces
# 8-12 px at its scale 23% of the time, 12-16 px 66%, 16-20 px 82%, 20-24 px 89%, larger
# ones 88-97% (ad hoc, from the detections of bench/video.py full-res). It was 12 px before.
MIN_BASE_FACE_PX = VIDEO_FULL_RES_MAX_BASE_FACE_PX


def min_pad_frames(raw: RawTrack, plan: VideoDetectionPlan, info: VideoInfo,
                   found_turned: bool = False) -> tuple[int, int]:
    """Frames a face may have been present before its first and after its last detection: the
    interval between the passes able to see a face of that size; before a face a turned pass
    found, the interval between two probes of that turn. After it, that turn runs on every
    frame of its pass for a whole cycle (schedule.turns_for_frame): it would see the face
    again within the pass's interval, as the upright passes would."""
    xyxy = np.stack(raw.xyxy)
    size_px = float(np.median(np.max(xyxy[:, 2:] - xyxy[:, :2], axis=1)))
    base_scale = plan.base_max_side_px / max(info.width, info.height)
    pad = plan.detect_every_n_frames
    if size_px * base_scale < MIN_BASE_FACE_PX and plan.full_res_every_n_frames:
        pad = plan.full_res_every_n_frames
    if found_turned:
        return max(pad, plan.turn_cycle_frames, plan.full_res_turn_cycle_frames), pad
    return pad, pad


def small_face_px(plan: VideoDetectionPlan, info: VideoInfo) -> tuple[float, float]:
    """Faces up to the first size (longer side, frame pixels) get the tracker's whole small-face
    margin, from the second size up none: VIDEO_SMALL_FACE_BASE_PX at the base pass's scale."""
    base_scale = plan.base_max_side_px / max(info.width, info.height)
    return VIDEO_SMALL_FACE_BASE_PX[0] / base_scale, VIDEO_SMALL_FACE_BASE_PX[1] / base_scale


def render_video(input_path: Path, output_path: Path, analysis: Analysis,
                 decisions: list[TrackDecision], options: AnonymizeOptions, *,
                 progress: ProgressFn | None = None,
                 should_cancel: CancelFn | None = None) -> int:
    """Second pass: decode again, hide the tracks decided so, encode. Returns frames written.

    Fails (and leaves no output) if the video does not decode to the same frames as in the
    analysis: a frame is never written without the boxes meant for it.
    """
    info = analysis.info
    to_blur = {d.track_id for d in decisions if d.should_blur}
    tracks = [t for t in analysis.tracks if t.track_id in to_blur]
    per_frame = boxes_per_frame(tracks, analysis.frame_count)
    meter = ProgressMeter("rendering", analysis.frame_count, progress, should_cancel,
                          ANALYSE_SHARE, 1 - ANALYSE_SHARE)
    clock = FrameClock(info)
    index = 0
    # Rotated or odd-sized video is turned upright / padded in RGB; otherwise frames stay in
    # their decoded planes (faces hidden there), untouched pixels bit for bit as decoded.
    needs_rgb = bool(info.rotation_deg or info.width % 2 or info.height % 2)
    name = Path(input_path).name
    decoded = 0

    def redacted(container, streams):
        """Demux, decode and hide, in order: ("audio", packet, None) or (how to write the
        frame, what to write, pts). Runs in a thread beside the encoder."""
        nonlocal decoded
        try:
            for packet in container.demux(streams):
                if packet.stream.type == "audio":
                    yield "audio", packet, None
                    continue
                for frame in packet.decode():
                    pts = clock.pts_of(frame)
                    if decoded >= analysis.frame_count or pts != analysis.pts[decoded]:
                        raise ProcessingError(
                            f"Frame {decoded} of {name!r} decoded differently the second time; "
                            "nothing was written.")
                    boxes = per_frame[decoded]
                    decoded += 1
                    if needs_rgb:
                        yield "rgb", redact_frame(to_display_rgb(frame, info.rotation_deg), boxes,
                                                  options.redact), pts
                    elif boxes and frame.format.name in YUV420_FORMATS:
                        yield "planes", redact_yuv420(frame.to_ndarray(), boxes, options.redact,
                                                      full_range=frame.format.name == "yuvj420p"), pts
                    elif boxes:
                        yield "rgb", redact_frame(to_display_rgb(frame, 0), boxes, options.redact), pts
                    else:
                        yield "frame", frame, pts
        except av.FFmpegError as error:
            raise ProcessingError(f"Decoding failed at frame {decoded} ({error.strerror}); "
                                  "nothing was written.") from None

    with open_container(Path(input_path)) as container:
        video_stream = main_video_stream(container)
        video_stream.thread_type = "AUTO"
        streams = [video_stream, *container.streams.audio]
        with VideoWriter(info, output_path, container) as writer:
            write = {"audio": lambda packet, _: writer.copy_packet(packet), "planes": writer.write_planes,
                     "rgb": writer.write, "frame": writer.write_frame}
            # Decoding and hiding run a few frames ahead of the encoder, on the other core
            # (the render pass 13% faster at 720p, the same file bit for bit; cli-ab).
            try:
                for kind, item, pts in prefetch(redacted(container, streams)):
                    write[kind](item, pts)
                    if kind != "audio":
                        index += 1
                        meter.advance()
            except av.FFmpegError as error:
                raise ProcessingError(f"Encoding failed at frame {index} ({error.strerror}); "
                                      "nothing was written.") from None
            if index != analysis.frame_count:
                raise ProcessingError(
                    f"Only {index} of {analysis.frame_count} frames decoded the second time; "
                    "nothing was written.")
    meter.report(final=True)
    return index


# Video's detectors run one ONNX Runtime thread per call, and as many calls at once as there
# are cores (analyse_video): threads of one call wait for each other after every layer; two
# calls of one thread each do not. The whole CLI on 2 cores, against one call at a time with
# two threads: 6-11% faster on three 720p clips and a 1080p one, the same output files
# (RESULTS.md, cli-ab-parallel).
VIDEO_DETECTOR_THREADS = 1


def video_detection_floor(options: AnonymizeOptions) -> float:
    """The lowest score video's detectors report: weak faces count when seen again
    (schedule.py, "Weak faces in video")."""
    return VIDEO_WEAK_SCORE_FACTOR * options.detect.min_score


def load_detector(options: AnonymizeOptions) -> CenterFace:
    """CenterFace for video (base and turned passes) and reference photos."""
    return CenterFace(min_score=video_detection_floor(options), threads=VIDEO_DETECTOR_THREADS)


def load_full_res_detector(options: AnonymizeOptions) -> FaceDetector:
    """YuNet for video's full-resolution passes (schedule.py, "Full-resolution pass")."""
    from app.pipeline.yunet import YuNet

    return YuNet(min_score=video_detection_floor(options), threads=VIDEO_DETECTOR_THREADS)


def analyse_and_decide(input_path: Path, options: AnonymizeOptions,
                       identity: IdentityOptions = IdentityOptions(), *,
                       detector: FaceDetector, full_res_detector: FaceDetector | None = None,
                       embedder: FaceEmbedder | None = None,
                       references: References | None = None,
                       progress: ProgressFn | None = None, should_cancel: CancelFn | None = None,
                       info: VideoInfo | None = None) -> tuple[Analysis, list[TrackDecision]]:
    """The analysis pass plus the decision per track. The review step keeps both, lets the
    editor flip decisions, then calls ``render_video``: no second detection pass."""
    if identity.needs_embeddings and embedder is None:
        embedder = load_embedder()
    if references is None:
        references = load_references(identity, detector, embedder)
    collector = sample_collector(identity)
    analysis = analyse_video(input_path, options, detector=detector,
                             full_res_detector=full_res_detector, progress=progress,
                             should_cancel=should_cancel, on_faces=collector, info=info)
    analysis = with_samples(analysis, collector)
    return analysis, decide_tracks(analysis, identity, references, embedder)


def load_embedder() -> FaceEmbedder:
    from app.pipeline.embed import FaceNetEmbedder

    return FaceNetEmbedder()


def anonymize_video(input_path: Path, output_path: Path,
                    options: AnonymizeOptions = AnonymizeOptions(),
                    identity: IdentityOptions = IdentityOptions(), *,
                    detector: FaceDetector | None = None,
                    full_res_detector: FaceDetector | None = None,
                    embedder: FaceEmbedder | None = None,
                    progress: ProgressFn | None = None,
                    should_cancel: CancelFn | None = None) -> dict:
    """Analyse, decide, render. Returns the report (JSON-able dict). Without ``detector`` the
    models load here (CenterFace, and YuNet for the full-resolution passes); a ``detector``
    given without ``full_res_detector`` runs every pass."""
    input_path, output_path = Path(input_path), Path(output_path)
    _check_output(input_path, output_path)
    info = probe_video(input_path)  # a bad input fails before the models load
    if detector is None:
        detector = load_detector(options)
        full_res_detector = full_res_detector or load_full_res_detector(options)
    if identity.needs_embeddings and embedder is None:
        embedder = load_embedder()
    references = load_references(identity, detector, embedder)  # a bad photo fails early too
    started = time.monotonic()
    analysis, decisions = analyse_and_decide(
        input_path, options, identity, detector=detector, full_res_detector=full_res_detector,
        embedder=embedder, references=references, progress=progress,
        should_cancel=should_cancel, info=info)
    analysed = time.monotonic()
    frames = render_video(input_path, output_path, analysis, decisions, options,
                          progress=progress, should_cancel=should_cancel)
    finished = time.monotonic()
    timing = {"analyse_s": round(analysed - started, 3), "render_s": round(finished - analysed, 3),
              "fps": round(frames / max(finished - started, 1e-9), 2)}
    return video_report(input_path, output_path, analysis, decisions, options, timing,
                        identity, references)


def _check_output(input_path: Path, output_path: Path) -> None:
    if output_path.resolve() == input_path.resolve():
        raise OutputError("The output would overwrite the input; choose another output path.")
    if output_path.is_dir():
        raise OutputError(f"The output {str(output_path)!r} is a folder; give a file name.")


def _sha256_or_none(path: Path) -> str | None:
    return models.sha256_file(path) if path.is_file() else None


def _model_hashes(photos: bool = False, thorough: bool = False) -> dict[str, str]:
    """The model files a run used: YuNet runs on videos and on thorough photos."""
    used = ((models.CENTERFACE_ORIGINAL, models.CENTERFACE)
            + ((models.RETINAFACE_ORIGINAL, models.RETINAFACE) if photos else ())
            + ((models.YUNET_ORIGINAL, models.YUNET) if thorough or not photos else ()))
    return {m.name: m.sha256 for m in used}


def video_report(input_path: Path, output_path: Path, analysis: Analysis,
                 decisions: list[TrackDecision], options: AnonymizeOptions, timing: dict,
                 identity: IdentityOptions = IdentityOptions(),
                 references: References | None = None) -> dict:
    by_id = {d.track_id: d for d in decisions}
    crops_per_track: dict[int, int] = {}
    for sample in analysis.samples:
        crops_per_track[sample.track_id] = crops_per_track.get(sample.track_id, 0) + 1
    tracks = []
    for track_dict in analysis.tracks_to_dicts():
        decision = by_id.get(track_dict["id"])
        track_dict["decision"] = "blur" if decision is None or decision.should_blur else "keep"
        track_dict["reason"] = decision.reason if decision else "no decision: hidden"
        if decision is not None and decision.person_id is not None:
            track_dict["person_id"] = decision.person_id
        if decision is not None and decision.similarity is not None:
            track_dict["similarity"] = round(decision.similarity, 4)
        if identity.needs_embeddings:
            track_dict["identity_crops"] = crops_per_track.get(track_dict["id"], 0)
        tracks.append(track_dict)
    model_hashes = _model_hashes()
    if identity.needs_embeddings:
        model_hashes[models.FACENET.name] = models.FACENET.sha256
    return {
        "kind": "video",
        "input": {"path": str(input_path), "sha256": _sha256_or_none(input_path)},
        "output": {"path": str(output_path), "sha256": _sha256_or_none(output_path),
                   "frames": analysis.frame_count},
        "models": model_hashes,
        "settings": options.to_dict(),
        "identity": {"policy": identity.policy.value,
                     "references": references.photos if references else [],
                     "min_similarity": identity.min_similarity,
                     "ambiguity_margin": identity.ambiguity_margin},
        "video": analysis.info.to_dict(),
        "frame_count": analysis.frame_count,
        "detected_frames": analysis.detected_frames,
        "scene_cuts": analysis.cut_frames,
        "timing": timing,
        "tracks": tracks,
    }


# ---- stills -------------------------------------------------------------------------------

PhotoDetectors = Mapping[str, FaceDetector]

# A photo's passes run as many at once as the detectors allow (two on 2 cores), one ONNX
# Runtime thread each, where they ran one at a time with two threads: the same faces, bit for
# bit; the whole CLI in bench/RESULTS.md (`cli-ab-photo-passes`, `-fast`).
PHOTO_DETECTOR_THREADS = 1


def photo_plan(options: AnonymizeOptions) -> PhotoDetectionPlan:
    return THOROUGH_PHOTO_PLAN if options.detect.thorough else FAST_PHOTO_PLAN


def load_photo_detectors(options: AnonymizeOptions) -> dict[str, FaceDetector]:
    """The networks of the photo plan (CenterFace and RetinaFace; YuNet too unless fast),
    keeping every face down to the agreement threshold."""
    from app.pipeline.retinaface import RetinaFace

    floor, threads = options.detect.min_score / 2, PHOTO_DETECTOR_THREADS
    detectors = {"centerface": CenterFace(min_score=floor, threads=threads),
                 "retinaface": RetinaFace(min_score=floor, threads=threads)}
    if options.detect.thorough:
        from app.pipeline.yunet import YuNet

        detectors["yunet"] = YuNet(min_score=floor, threads=threads)
    return detectors


def run_concurrently(calls: list[Callable[[], FaceBoxes]], workers: int,
                     order: list[int] | None = None) -> list[FaceBoxes]:
    """Each call's result, in the calls' order, with up to ``workers`` calls running at once,
    started in ``order`` (indices into ``calls``; as given unless said)."""
    if workers <= 1 or len(calls) <= 1:
        return [call() for call in calls]
    order = range(len(calls)) if order is None else order
    with ThreadPoolExecutor(min(workers, len(calls)), thread_name_prefix="veil-photo") as pool:
        futures = {i: pool.submit(calls[i]) for i in order}
        return [futures[i].result() for i in range(len(calls))]


def detect_still(detectors: PhotoDetectors | FaceDetector, image_rgb: np.ndarray,
                 min_score: float = STILL_MIN_SCORE, quarter_turns: bool = True,
                 plan: PhotoDetectionPlan = THOROUGH_PHOTO_PLAN) -> FaceBoxes:
    """Faces in one photo (find_still_faces, without which of them a pass is sure of)."""
    return find_still_faces(detectors, image_rgb, min_score, quarter_turns, plan)[0]


def find_still_faces(detectors: PhotoDetectors | FaceDetector, image_rgb: np.ndarray,
                     min_score: float = STILL_MIN_SCORE, quarter_turns: bool = True,
                     plan: PhotoDetectionPlan = THOROUGH_PHOTO_PLAN) -> tuple[FaceBoxes, np.ndarray]:
    """Faces in one photo, and for each whether a pass is sure of it (``detect.sure_faces``):
    every pass of ``plan`` whose detector is given (a single detector stands for CenterFace),
    combined by ``detect.vote``.

    With quarter_turns, the first pass also runs on the photo turned 1-3 quarters: the whole
    plan runs on the turn that sets the photo upright (``schedule.photo_quarter_turns``), and
    faces the other turns find with twice min_score are kept too (schedule.py, "Quarter turns")."""
    if not isinstance(detectors, Mapping):
        detectors = {"centerface": detectors}
    workers = concurrent_calls(*detectors.values())
    h, w = image_rgb.shape[:2]
    sides = still_plan((h, w), plan.passes)
    probe = detectors.get(STILL_TURN_PROBE.detector) if quarter_turns else None
    probed: dict[int, FaceBoxes] = {}
    if probe is not None:
        probe_side = next(side for p, side in sides if p == STILL_TURN_PROBE)

        def probe_turned(turns: int) -> FaceBoxes:
            turned = turn_image(image_rgb, turns)
            return turn_faces_back(probe.detect(turned, probe_side), turns,
                                   (turned.shape[1], turned.shape[0]))
        probed = dict(enumerate(run_concurrently([lambda t=t: probe_turned(t) for t in range(4)], workers)))
    upright_turns = photo_quarter_turns(
        [f.score[f.score >= STILL_TURN_SCORE_FLOOR].sum() for f in probed.values()]) if probed else 0
    upright = turn_image(image_rgb, upright_turns)
    upright_wh = (upright.shape[1], upright.shape[0])
    passes = [(p, side, detectors[p.detector]) for p, side in sides if p.detector in detectors]
    mirrored = (np.ascontiguousarray(upright[:, ::-1]) if any(p.mirrored for p, _, _ in passes)
                else None)

    def run_pass(detector: FaceDetector, still_pass, side_px: int) -> FaceBoxes:
        if still_pass == STILL_TURN_PROBE and probed:
            return probed[upright_turns]
        if still_pass.mirrored:
            return turn_faces_back(mirror_faces(detector.detect(mirrored, side_px), upright_wh[0]),
                                   upright_turns, upright_wh)
        return turn_faces_back(detector.detect(upright, side_px), upright_turns, upright_wh)

    calls = [lambda d=d, p=p, side=side: run_pass(d, p, side) for p, side, d in passes]
    # The largest detector inputs start first, so the two workers finish close together: in
    # plan order the 2x pass often ran last, alone on one thread (--fast 0.92x the time of one
    # pass at a time with two threads, largest first 1.14x; ad hoc, 12 photos, interleaved).
    largest_first = sorted(range(len(passes)), key=lambda i: -passes[i][1])
    found, alone_min_scores = [], []
    for (still_pass, _, _), faces in zip(passes, run_concurrently(calls, workers, largest_first)):
        keep = long_side_px(faces.xyxy) < still_pass.max_face_px
        found.append(faces[keep])
        alone_min_scores.append(min_score if still_pass.detector == "centerface"
                                else max(OTHER_NETWORKS_MIN_SCORE, min_score))
    turned_min_score = STILL_TURNED_SCORE_FACTOR * min_score
    for turns, faces in probed.items():
        if turns != upright_turns:
            found.append(faces[faces.score >= turned_min_score])
            alone_min_scores.append(turned_min_score)
    faces = vote(found, alone_min_scores, min_score / 2, STILL_AGREE_MIN_IOU,
                 min_agreeing=plan.agreeing_passes)
    return faces, sure_faces(faces, found, alone_min_scores, STILL_AGREE_MIN_IOU)


def still_hide_boxes(faces: FaceBoxes, box_scale: float, image_wh: tuple[int, int],
                     sure: np.ndarray | None = None, weak_margin_cut: float = 0.0) -> np.ndarray:
    """The area hidden for each photo face: small faces get a wider margin, faces no pass is
    sure of (``sure`` False) a narrower one by the plan's weak_margin_cut (schedule.py)."""
    sure = np.ones(len(faces), bool) if sure is None else sure
    factors = still_hide_scales(long_side_px(faces.xyxy), sure, box_scale, weak_margin_cut)
    return clip_boxes(scale_boxes(faces.xyxy, factors), image_wh)


# Photos have no tracking to fall back on: more passes, three networks, a lower score
# threshold and wider margins, measured on WIDER val in bench/ (schedule.py). --fast: six
# passes of two networks, 3x faster, more faces missed.
PHOTO_OPTIONS = AnonymizeOptions(detect=DetectOptions(min_score=STILL_MIN_SCORE, thorough=True),
                                 track=TrackOptions(box_scale=THOROUGH_PHOTO_PLAN.box_scale))
FAST_PHOTO_OPTIONS = AnonymizeOptions(detect=DetectOptions(min_score=STILL_MIN_SCORE),
                                      track=TrackOptions(box_scale=FAST_PHOTO_PLAN.box_scale))


def anonymize_image(input_path: Path, output_path: Path,
                    options: AnonymizeOptions = PHOTO_OPTIONS, *,
                    detector: PhotoDetectors | FaceDetector | None = None) -> dict:
    input_path, output_path = Path(input_path), Path(output_path)
    _check_output(input_path, output_path)
    if output_path.suffix.lower() != input_path.suffix.lower():
        raise OutputError(f"A photo keeps its format: name the output with {input_path.suffix!r}.")
    image = read_image(input_path)
    detector = detector or load_photo_detectors(options)
    rgb = np.ascontiguousarray(image[..., :3])
    plan = photo_plan(options)
    faces, sure = find_still_faces(detector, rgb, options.detect.min_score, plan=plan)
    h, w = rgb.shape[:2]
    hide_xyxy = still_hide_boxes(faces, options.track.box_scale, (w, h), sure, plan.weak_margin_cut)
    redacted = redact_frame(rgb, list(hide_xyxy), options.redact)
    if image.shape[2] == 4:
        redacted = np.concatenate([redacted, image[..., 3:]], axis=2)
    write_image(output_path, redacted)
    return {
        "kind": "image",
        "input": {"path": str(input_path), "sha256": _sha256_or_none(input_path)},
        "output": {"path": str(output_path), "sha256": _sha256_or_none(output_path)},
        "models": _model_hashes(photos=True, thorough=options.detect.thorough),
        "settings": options.to_dict(),
        "width": w, "height": h,
        "faces": [{"xyxy": [round(float(v), 1) for v in box], "score": round(float(s), 3),
                   "sure": bool(is_sure), "hidden_xyxy": [round(float(v), 1) for v in hidden]}
                  for box, s, is_sure, hidden in zip(faces.xyxy, faces.score, sure, hide_xyxy)],
    }


def anonymize_folder(input_dir: Path, output_dir: Path,
                     options: AnonymizeOptions = PHOTO_OPTIONS, *,
                     detector: PhotoDetectors | FaceDetector | None = None,
                     progress: ProgressFn | None = None,
                     should_cancel: CancelFn | None = None) -> dict:
    """Every photo under input_dir (recursively) to the same relative path under output_dir."""
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    if output_dir.resolve() == input_dir.resolve() or input_dir.resolve() in output_dir.resolve().parents:
        raise OutputError("The output folder must not be the input folder or inside it.")
    images = sorted(p for p in input_dir.rglob("*")
                    if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise InputError(f"The folder {input_dir.name!r} has no JPEG, PNG or WebP photos.")
    detector = detector or load_photo_detectors(options)
    meter = ProgressMeter("images", len(images), progress, should_cancel, 0.0, 1.0)
    files = []
    for path in images:
        target = output_dir / path.relative_to(input_dir)
        files.append(anonymize_image(path, target, options, detector=detector))
        meter.advance()
    meter.report(final=True)
    return {"kind": "folder", "input": str(input_dir), "output": str(output_dir),
            "models": _model_hashes(photos=True, thorough=options.detect.thorough),
            "settings": options.to_dict(), "files": files}


def is_photo_input(input_path: Path) -> bool:
    """A folder (of photos) or a JPEG/PNG/WebP file, as opposed to a video."""
    return input_path.is_dir() or input_path.suffix.lower() in IMAGE_SUFFIXES


def default_output_path(input_path: Path) -> Path:
    if input_path.is_dir():
        return input_path.with_name(input_path.name + "-anonymized")
    suffix = input_path.suffix if input_path.suffix.lower() in IMAGE_SUFFIXES else VIDEO_SUFFIX
    return input_path.with_name(f"{input_path.stem}-anonymized{suffix}")


def anonymize_path(input_path: Path, output_path: Path | None = None,
                   options: AnonymizeOptions = AnonymizeOptions(),
                   identity: IdentityOptions = IdentityOptions(), *,
                   detector: FaceDetector | None = None, progress: ProgressFn | None = None,
                   should_cancel: CancelFn | None = None) -> dict:
    """Dispatch on what the input is: a folder of photos, a photo, or a video."""
    input_path = Path(input_path)
    if not input_path.exists():
        raise InputError(f"The file {input_path.name!r} does not exist.")
    output_path = Path(output_path) if output_path else default_output_path(input_path)
    if identity.policy is not Policy.ALL and is_photo_input(input_path):
        raise InputError("--only and --keep work on videos; photos always hide every face.")
    if input_path.is_dir():
        return anonymize_folder(input_path, output_path, options, detector=detector,
                                progress=progress, should_cancel=should_cancel)
    if input_path.suffix.lower() in IMAGE_SUFFIXES:
        return anonymize_image(input_path, output_path, options, detector=detector)
    if output_path.suffix.lower() != VIDEO_SUFFIX:
        raise OutputError(f"Videos are written as MP4: name the output with '.mp4', "
                          f"not {output_path.suffix or 'no extension'!r}.")
    return anonymize_video(input_path, output_path, options, identity, detector=detector,
                           progress=progress, should_cancel=should_cancel)
