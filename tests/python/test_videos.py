"""OpenAI's video job API with the official `openai` client (videos.create
sends multipart/form-data, retrieve, list, download_content, delete) against
the real citadel binary serving the video test plugin
(tests/plugins/video_plugin.cpp: deterministic RGB frames, one per step)."""
import pathlib
import tempfile
import time

import openai
import pytest

import conftest

VIDEO_PLUGIN = conftest.BUILD_DIR / "test-plugins" / "video"
# openai 3.57 warns that its Sora endpoints are deprecated; the shapes are what is tested.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class VideoCitadel(conftest.Citadel):
    """A host with one text_to_video model `vid` (the video test plugin)."""

    def __init__(self):  # pylint: disable=super-init-not-called
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="citadel-pytest-video-"))
        (self.root / "citadel.yaml").write_text(conftest.CITADEL_YAML + "videos:\n  dir: videos\n")
        (self.root / "run").mkdir()
        conftest.citadel_admin.install_plugin_folder(VIDEO_PLUGIN, self.root / "plugins", "video")
        (self.root / "models.d").mkdir()
        (self.root / "models.d" / "vid.yaml").write_text(
            "name: vid\nplugin: video\ndevice: cpu\noptions: {step_delay_ms: 10, max_frames: 64}\n")
        self._start()


@pytest.fixture(scope="module")
def video_host():
    if not (VIDEO_PLUGIN / "video.so").exists():
        pytest.skip("the video test plugin is not built")
    host = VideoCitadel()
    yield host
    host.stop()


def wait_done(client, video_id, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        video = client.videos.retrieve(video_id)
        if video.status in ("completed", "failed"):
            return video
        time.sleep(0.05)
    raise AssertionError(f"video job {video_id} did not finish")


def test_create_poll_download_list_delete(video_host):
    client = video_host.client()
    video = client.videos.create(model="vid", prompt="a red ball", seconds="1", size="32x32")
    assert video.object == "video"
    assert video.status in ("queued", "in_progress")
    assert video.size == "32x32"
    assert video.seconds == "1"
    done = wait_done(client, video.id)
    assert done.status == "completed", done
    assert done.progress == 100
    assert done.completed_at is not None and done.expires_at > done.completed_at
    content = client.videos.download_content(video.id)
    mp4 = content.read()
    assert mp4[4:8] == b"ftyp"  # an ISO media file
    preview = client.videos.download_content(video.id, variant="thumbnail").read()
    assert preview[:4] in (b"RIFF", b"GIF8")
    assert video.id in [listed.id for listed in client.videos.list()]
    deleted = client.videos.delete(video.id)
    assert deleted.deleted and deleted.id == video.id
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(video.id)


def test_bad_size_names_the_field(video_host):
    client = video_host.client()
    with pytest.raises(openai.BadRequestError) as error:
        client.videos.create(model="vid", prompt="x", seconds="1", size="30x32")
    assert error.value.body["param"] == "size"
    with pytest.raises(openai.BadRequestError) as error:
        client.videos.create(model="vid", prompt="x", seconds="12", size="32x32")  # 192 frames > 64
    assert error.value.body["param"] == "frames"
