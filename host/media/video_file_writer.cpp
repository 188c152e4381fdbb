// VideoFileWriter over libavformat / libavcodec / libswscale.
#include "host/media/video_file_writer.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <mutex>

namespace citadel::media {

namespace {

std::string av_message(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof(text));
  return text;
}

AVDictionary* parse_options(const std::string& options, const std::string& what) {
  AVDictionary* dictionary = nullptr;
  if (!options.empty() && av_dict_parse_string(&dictionary, options.c_str(), "=", ":", 0) < 0) {
    av_dict_free(&dictionary);
    throw MediaError(what + ": cannot parse options '" + options + "'");
  }
  return dictionary;
}

// FFmpeg logs to stderr; the host reports failures through MediaError.
void quiet_ffmpeg_logging() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_level(AV_LOG_ERROR); });
}

}  // namespace

struct VideoFileWriter::State {
  std::filesystem::path path;
  VideoFileSpec spec;
  AVFormatContext* format = nullptr;
  AVCodecContext* codec = nullptr;
  AVStream* stream = nullptr;
  SwsContext* scaler = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  bool header_written = false;
  bool finished = false;
  uint64_t frames = 0;

  std::string where() const { return path.string(); }

  void check(int code, const char* call) const {
    if (code < 0) throw MediaError(where() + ": " + call + ": " + av_message(code));
  }

  // Sends `input` (null: flush) and writes every packet the encoder gives.
  void encode(AVFrame* input) {
    check(avcodec_send_frame(codec, input), "avcodec_send_frame");
    for (;;) {
      const int got = avcodec_receive_packet(codec, packet);
      if (got == AVERROR(EAGAIN) || got == AVERROR_EOF) return;
      check(got, "avcodec_receive_packet");
      av_packet_rescale_ts(packet, codec->time_base, stream->time_base);
      packet->stream_index = stream->index;
      check(av_interleaved_write_frame(format, packet), "av_interleaved_write_frame");
    }
  }

  ~State() {
    if (header_written && !finished) av_write_trailer(format);
    av_packet_free(&packet);
    av_frame_free(&frame);
    sws_freeContext(scaler);
    avcodec_free_context(&codec);
    if (format != nullptr) {
      if (format->pb != nullptr && !(format->oformat->flags & AVFMT_NOFILE)) avio_closep(&format->pb);
      avformat_free_context(format);
    }
  }
};

VideoFileWriter::VideoFileWriter(const std::filesystem::path& path, const VideoFileSpec& requested)
    : state_(std::make_unique<State>()) {
  quiet_ffmpeg_logging();
  State& s = *state_;
  s.path = path;
  s.spec = requested;
  VideoFileSpec& spec = s.spec;
  if (spec.out_width == 0) spec.out_width = spec.width;
  if (spec.out_height == 0) spec.out_height = spec.height;
  if (spec.width == 0 || spec.height == 0 || spec.fps == 0)
    throw MediaError(s.where() + ": width, height and fps must be positive");

  const AVCodec* encoder = avcodec_find_encoder_by_name(spec.encoder.c_str());
  if (encoder == nullptr)
    throw MediaError(s.where() + ": this libavcodec has no encoder '" + spec.encoder + "'");
  s.check(avformat_alloc_output_context2(&s.format, nullptr, spec.container.c_str(), path.c_str()),
          "avformat_alloc_output_context2");
  s.codec = avcodec_alloc_context3(encoder);
  if (s.codec == nullptr) throw MediaError(s.where() + ": avcodec_alloc_context3 failed");
  const AVPixelFormat pixel_format =
      encoder->pix_fmts != nullptr ? encoder->pix_fmts[0] : AV_PIX_FMT_YUV420P;
  const AVPixFmtDescriptor* descriptor = av_pix_fmt_desc_get(pixel_format);
  if (descriptor != nullptr && (descriptor->log2_chroma_w > 0 || descriptor->log2_chroma_h > 0) &&
      (spec.out_width % 2 != 0 || spec.out_height % 2 != 0))
    throw MediaError(s.where() + ": " + spec.encoder + " in " + descriptor->name + " needs even sizes, got " +
                     std::to_string(spec.out_width) + "x" + std::to_string(spec.out_height));
  s.codec->width = static_cast<int>(spec.out_width);
  s.codec->height = static_cast<int>(spec.out_height);
  s.codec->pix_fmt = pixel_format;
  s.codec->time_base = AVRational{1, static_cast<int>(spec.fps)};
  s.codec->framerate = AVRational{static_cast<int>(spec.fps), 1};
  s.codec->gop_size = static_cast<int>(spec.fps);
  if (s.format->oformat->flags & AVFMT_GLOBALHEADER) s.codec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* codec_options = parse_options(spec.codec_options, s.where());
  const int opened = avcodec_open2(s.codec, encoder, &codec_options);
  av_dict_free(&codec_options);
  s.check(opened, "avcodec_open2");

  s.stream = avformat_new_stream(s.format, nullptr);
  if (s.stream == nullptr) throw MediaError(s.where() + ": avformat_new_stream failed");
  s.stream->time_base = s.codec->time_base;
  s.stream->avg_frame_rate = s.codec->framerate;
  s.check(avcodec_parameters_from_context(s.stream->codecpar, s.codec), "avcodec_parameters_from_context");
  if (!(s.format->oformat->flags & AVFMT_NOFILE))
    s.check(avio_open(&s.format->pb, path.c_str(), AVIO_FLAG_WRITE), "avio_open");
  AVDictionary* muxer_options = parse_options(spec.muxer_options, s.where());
  const int header = avformat_write_header(s.format, &muxer_options);
  av_dict_free(&muxer_options);
  s.check(header, "avformat_write_header");
  s.header_written = true;

  s.scaler = sws_getContext(static_cast<int>(spec.width), static_cast<int>(spec.height), AV_PIX_FMT_RGB24,
                            s.codec->width, s.codec->height, pixel_format, SWS_BICUBIC, nullptr, nullptr, nullptr);
  if (s.scaler == nullptr) throw MediaError(s.where() + ": sws_getContext failed");
  s.frame = av_frame_alloc();
  s.packet = av_packet_alloc();
  if (s.frame == nullptr || s.packet == nullptr) throw MediaError(s.where() + ": out of memory");
  s.frame->format = pixel_format;
  s.frame->width = s.codec->width;
  s.frame->height = s.codec->height;
  s.check(av_frame_get_buffer(s.frame, 0), "av_frame_get_buffer");
}

VideoFileWriter::~VideoFileWriter() = default;

void VideoFileWriter::write_frame(const uint8_t* rgb) {
  State& s = *state_;
  if (s.finished) throw MediaError(s.where() + ": write_frame after finish");
  s.check(av_frame_make_writable(s.frame), "av_frame_make_writable");
  const uint8_t* source[1] = {rgb};
  const int source_stride[1] = {static_cast<int>(s.spec.width * 3)};
  sws_scale(s.scaler, source, source_stride, 0, static_cast<int>(s.spec.height), s.frame->data, s.frame->linesize);
  s.frame->pts = static_cast<int64_t>(s.frames);
  s.encode(s.frame);
  ++s.frames;
}

void VideoFileWriter::finish() {
  State& s = *state_;
  if (s.finished) return;
  s.encode(nullptr);
  s.check(av_write_trailer(s.format), "av_write_trailer");
  s.finished = true;
  if (!(s.format->oformat->flags & AVFMT_NOFILE)) s.check(avio_closep(&s.format->pb), "avio_closep");
}

uint64_t VideoFileWriter::frames_written() const { return state_->frames; }
const std::filesystem::path& VideoFileWriter::path() const { return state_->path; }

VideoFileSpec mp4_spec(uint32_t width, uint32_t height, uint32_t fps) {
  VideoFileSpec spec;
  spec.container = "mp4";
  spec.encoder = avcodec_find_encoder_by_name("libx264") != nullptr ? "libx264" : "mpeg4";
  spec.width = width;
  spec.height = height;
  spec.fps = fps;
  if (spec.encoder == "libx264") spec.codec_options = "preset=veryfast:crf=18";
  spec.muxer_options = "movflags=+faststart";
  return spec;
}

namespace {
bool have_webp() { return avcodec_find_encoder_by_name("libwebp_anim") != nullptr; }
}  // namespace

VideoFileSpec preview_spec(uint32_t width, uint32_t height, uint32_t fps, uint32_t max_side) {
  VideoFileSpec spec;
  const bool webp = have_webp();
  spec.container = webp ? "webp" : "gif";
  spec.encoder = webp ? "libwebp_anim" : "gif";
  spec.width = width;
  spec.height = height;
  spec.fps = fps;
  const uint32_t longest = std::max(width, height);
  const double scale = longest > max_side ? static_cast<double>(max_side) / longest : 1.0;
  spec.out_width = std::max<uint32_t>(2, static_cast<uint32_t>(width * scale) & ~1u);
  spec.out_height = std::max<uint32_t>(2, static_cast<uint32_t>(height * scale) & ~1u);
  spec.muxer_options = "loop=0";
  if (webp) spec.codec_options = "quality=70";
  return spec;
}

std::string preview_extension() { return have_webp() ? "webp" : "gif"; }
std::string preview_content_type() { return have_webp() ? "image/webp" : "image/gif"; }

}  // namespace citadel::media
