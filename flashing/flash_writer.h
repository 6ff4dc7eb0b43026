#pragma once

#include "flashing/device_client.h"

#include <atomic>
#include <functional>

namespace keyline::flashing {

struct FlashOptions {
    // Bytes per flash-chunk; 0 takes the device's max_chunk. Capped by the device's max_chunk.
    int chunkSize = 0;
    // Chunks in flight before the writer waits for the oldest answer. More hides the link's
    // round trip; the device handles them in order either way.
    int window = 4;
    // Times one region may be sent again after the device reports it damaged (bad-frame).
    int retries = 3;
};

// An image and its SHA-256, hashed once (per order, not per device).
struct FlashImage {
    QByteArray bytes;
    QByteArray sha256;
    static FlashImage of(QByteArray bytes);
};

// Called after every acknowledged chunk with bytes acknowledged and the image size.
using FlashProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

// Writes an image to a device in chunks: resumes where an earlier transfer stopped, re-sends
// damaged chunks, commits, and checks that the device reports the image installed.
// "Ensure" semantics: an image already installed with the same hash is not sent again.
class FlashWriter {
public:
    FlashWriter(DeviceClient& client, FlashOptions options = {});

    Result<protocol::FlashStatusResponse> write(const FlashImage& image,
                                                std::uint32_t deviceMaxChunk,
                                                const FlashProgressFn& progress = {},
                                                const std::atomic<bool>* cancel = nullptr);

    // Bytes actually sent by the last write(); less than the image after a resume.
    std::uint64_t bytesSent() const { return m_bytesSent; }

private:
    Result<std::uint64_t> transfer(const QByteArray& image, std::uint64_t from, int chunk,
                                   const FlashProgressFn& progress,
                                   const std::atomic<bool>* cancel);

    DeviceClient& m_client;
    FlashOptions m_options;
    std::uint64_t m_bytesSent = 0;
};

// SHA-256 of a buffer (OpenSSL, uses the CPU's SHA extensions where present).
QByteArray sha256(const QByteArray& data);

} // namespace keyline::flashing
