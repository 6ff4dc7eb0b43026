#pragma once

#include "flashing/commands.h"
#include "flashing/frame.h"
#include "flashing/transport.h"

#include <memory>

namespace keyline::flashing {

// Request/response exchange over a Transport: numbers requests, reassembles response frames,
// matches them to requests and turns error responses into typed errors. Requests may be
// pipelined (send several, then receive their answers in order), which the flash writer uses
// to keep the link busy.
class DeviceLink {
public:
    // The most input the link ever holds: one frame being reassembled plus the rest of the
    // last read (reads ask for what completes the frame, at least 4 KiB). A device that sends
    // more than it was asked for cannot make the station buffer more than this.
    static constexpr qsizetype kMaxBufferedInput = protocol::kMaxFrameSize + 4096;

    explicit DeviceLink(std::unique_ptr<Transport> transport);

    const PortInfo& port() const { return m_transport->port(); }

    // Sends one request; returns its sequence number.
    Result<std::uint32_t> send(protocol::Command command, const QByteArray& payload,
                               Deadline deadline);
    // Sends a request whose payload is `prefix` followed by `size` bytes at `data`, without
    // copying them into a frame buffer: the flash writer's path for image chunks.
    Result<std::uint32_t> sendWithData(protocol::Command command, const QByteArray& prefix,
                                       const char* data, qsizetype size, Deadline deadline);
    // Receives the response to `sequence`, which must be the oldest request still unanswered.
    // An error response becomes ErrorCode::DeviceRefused with the device's code as detail().
    Result<QByteArray> receive(protocol::Command command, std::uint32_t sequence,
                               Deadline deadline);
    Result<QByteArray> exchange(protocol::Command command, const QByteArray& payload,
                                Deadline deadline);

    // After a protocol violation or a timeout the stream may be out of step: every later call
    // fails until the caller opens a new link.
    bool broken() const { return m_broken.has_value(); }
    // The most received input this link held at once (at most kMaxBufferedInput).
    qsizetype peakBufferedBytes() const { return m_peakBuffered; }
    void close();

private:
    Result<protocol::Frame> readFrame(Deadline deadline);
    Error breakWith(Error error);

    std::unique_ptr<Transport> m_transport;
    protocol::FrameDecoder m_decoder;
    std::uint32_t m_nextSequence = 1;
    QByteArray m_sendBuffer;
    QByteArray m_readBuffer;
    std::optional<Error> m_broken;
    qsizetype m_peakBuffered = 0;
};

} // namespace keyline::flashing
