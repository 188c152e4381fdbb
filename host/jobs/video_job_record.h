// job.json: a finished video job as written into its folder, so that the
// jobs of an earlier run of the host (same videos.dir) are listed and served
// again after a restart until their retention ends.
//
// Used by VideoJobManager (write when a job finishes, read at start).
#pragma once

#include "host/jobs/video_job.h"

#include <filesystem>
#include <optional>

namespace citadel::jobs {

void write_job_record(const std::filesystem::path& file, const VideoJobView& job);
// nullopt when the file is missing or not a finished job's record.
std::optional<VideoJobView> read_job_record(const std::filesystem::path& file);

}  // namespace citadel::jobs
