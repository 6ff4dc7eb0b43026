#pragma once

#include "flashing/frame.h"
#include "sim/device.h"
#include "sim/pacer.h"
#include "sim/simulator.h"

#include <functional>
#include <memory>
#include <optional>

namespace keyline::sim {

// The link faults configured for one port (the device-internal ones are in DeviceFaults).
struct LinkFaults {
    std::optional<std::uint64_t> disconnectAfterBytes;
    std::optional<protocol::Command> disconnectAt;
    std::optional<int> corruptChunk;
    bool garbage = false;
    bool flood = false;
};

// One connection to a device: reassembles request frames, applies the link faults, lets the
// device answer and frames the answers. Frames that lose the boundary drop the link.
class DeviceSession final : public PortSession {
public:
    DeviceSession(int port, std::shared_ptr<VirtualDevice> device, LinkFaults faults, Timing timing,
                  std::function<void(const QString&)> log,
                  std::function<void(std::chrono::microseconds worked)> onClose);
    ~DeviceSession() override;

    Output feed(const char* data, qsizetype size) override;
    char* receiveBuffer(qsizetype& size) override;
    Output received(qsizetype size) override;

private:
    // How many of `size` newly received bytes the link delivers before an injected disconnect.
    qsizetype acceptedBytes(qsizetype size, bool& dropAfterInput);
    // Decodes and answers what the decoder holds.
    Output process(bool dropAfterInput);
    void handleFrame(const protocol::Frame& frame, Output& out);
    void appendError(Output& out, std::uint16_t command, std::uint32_t sequence,
                     protocol::DeviceError code, const QString& message);
    // Fires a once-per-device fault: false if it already fired on this device.
    bool fireOnce(const QString& key);
    void log(const QString& line) const;

    int m_port;
    std::shared_ptr<VirtualDevice> m_device;
    LinkFaults m_faults;
    Pacer m_pacer;
    std::function<void(const QString&)> m_log;
    std::function<void(std::chrono::microseconds worked)> m_onClose;
    protocol::FrameDecoder m_decoder;
    bool m_dropped = false;
};

} // namespace keyline::sim
