// read_video_file over libavformat / libavcodec / libswscale.
#include "support/video_file_reader.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace citadel::test {

namespace {

struct Resources {
  AVFormatContext* format = nullptr;
  AVCodecContext* codec = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  SwsContext* scaler = nullptr;
  ~Resources() {
    sws_freeContext(scaler);
    av_packet_free(&packet);
    av_frame_free(&frame);
    avcodec_free_context(&codec);
    avformat_close_input(&format);
  }
};

void convert(Resources& r, DecodedVideo& video) {
  if (r.scaler == nullptr)
    r.scaler = sws_getContext(r.frame->width, r.frame->height, static_cast<AVPixelFormat>(r.frame->format),
                              r.frame->width, r.frame->height, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr,
                              nullptr);
  std::vector<uint8_t> rgb(static_cast<size_t>(r.frame->width * r.frame->height * 3));
  uint8_t* planes[1] = {rgb.data()};
  const int strides[1] = {r.frame->width * 3};
  sws_scale(r.scaler, r.frame->data, r.frame->linesize, 0, r.frame->height, planes, strides);
  video.frames.push_back(std::move(rgb));
}

void drain(Resources& r, DecodedVideo& video, const std::string& where) {
  for (;;) {
    const int got = avcodec_receive_frame(r.codec, r.frame);
    if (got == AVERROR(EAGAIN) || got == AVERROR_EOF) return;
    if (got < 0) throw std::runtime_error(where + ": avcodec_receive_frame failed");
    convert(r, video);
    av_frame_unref(r.frame);
  }
}

}  // namespace

DecodedVideo read_video_file(const std::filesystem::path& path) {
  const std::string where = path.string();
  Resources r;
  if (avformat_open_input(&r.format, path.c_str(), nullptr, nullptr) < 0)
    throw std::runtime_error(where + ": avformat_open_input failed");
  if (avformat_find_stream_info(r.format, nullptr) < 0)
    throw std::runtime_error(where + ": avformat_find_stream_info failed");
  const int stream_index = av_find_best_stream(r.format, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (stream_index < 0) throw std::runtime_error(where + ": no video stream");
  AVStream* stream = r.format->streams[stream_index];
  const AVCodec* decoder = avcodec_find_decoder(stream->codecpar->codec_id);
  if (decoder == nullptr) throw std::runtime_error(where + ": no decoder");
  r.codec = avcodec_alloc_context3(decoder);
  avcodec_parameters_to_context(r.codec, stream->codecpar);
  if (avcodec_open2(r.codec, decoder, nullptr) < 0) throw std::runtime_error(where + ": avcodec_open2 failed");
  DecodedVideo video;
  video.container = r.format->iformat->name;
  video.codec = decoder->name;
  const char* pixel_format = av_get_pix_fmt_name(static_cast<AVPixelFormat>(stream->codecpar->format));
  video.pixel_format = pixel_format != nullptr ? pixel_format : "";
  video.width = static_cast<uint32_t>(stream->codecpar->width);
  video.height = static_cast<uint32_t>(stream->codecpar->height);
  if (stream->avg_frame_rate.den != 0) video.fps = av_q2d(stream->avg_frame_rate);
  r.frame = av_frame_alloc();
  r.packet = av_packet_alloc();
  while (av_read_frame(r.format, r.packet) >= 0) {
    if (r.packet->stream_index == stream_index) {
      if (avcodec_send_packet(r.codec, r.packet) < 0) throw std::runtime_error(where + ": avcodec_send_packet failed");
      drain(r, video, where);
    }
    av_packet_unref(r.packet);
  }
  avcodec_send_packet(r.codec, nullptr);
  drain(r, video, where);
  return video;
}

double mean_abs_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size() || a.empty()) return 1e9;
  double total = 0;
  for (size_t i = 0; i < a.size(); ++i) total += std::abs(int(a[i]) - int(b[i]));
  return total / static_cast<double>(a.size());
}

}  // namespace citadel::test
