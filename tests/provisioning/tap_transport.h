#pragma once

// A Transport between the station and the simulator that sees every frame: it counts and keeps
// the requests the station sends, and lets a test rewrite the device's answers (a lying or
// tampered device) before the station reads them. The Tap outlives the DeviceClient that owns
// the transport, so a test can look at it afterwards.
#include "flashing/commands.h"
#include "flashing/frame.h"
#include "flashing/transport.h"

#include <functional>
#include <map>
#include <memory>

namespace keyline::test {

struct Tap {
    std::map<protocol::Command, int> requests;
    QList<QByteArray> otpBurnPayloads; // what the station sent in otp-burn (the wrapped key)
    // Called with each complete answer frame; may change its payload.
    std::function<void(protocol::Frame&)> rewriteAnswer;

    int count(protocol::Command command) const {
        auto it = requests.find(command);
        return it == requests.end() ? 0 : it->second;
    }
};

class TapTransport final : public flashing::Transport {
public:
    TapTransport(std::unique_ptr<flashing::Transport> inner, std::shared_ptr<Tap> tap)
        : m_inner(std::move(inner))
        , m_tap(std::move(tap)) {}

    const flashing::PortInfo& port() const override { return m_inner->port(); }

    Result<void> write(const char* data, qsizetype size, Deadline deadline) override {
        m_requests.feed(data, int(size));
        while (auto frame = m_requests.next()) {
            if (!frame->ok())
                break;
            const auto command = static_cast<protocol::Command>((*frame)->command);
            m_tap->requests[command] += 1;
            if (command == protocol::Command::OtpBurn)
                m_tap->otpBurnPayloads.append((*frame)->payload);
        }
        return m_inner->write(data, size, deadline);
    }

    Result<qsizetype> read(char* buffer, qsizetype max, Deadline deadline) override {
        // Whole answer frames only, so that a rewrite can change lengths and the CRC.
        while (m_ready.isEmpty()) {
            char chunk[4096];
            KL_TRY_ASSIGN(qsizetype got, m_inner->read(chunk, sizeof chunk, deadline));
            m_answers.feed(chunk, int(got));
            while (auto frame = m_answers.next()) {
                if (!frame->ok())
                    return Error(ErrorCode::ProtocolViolation, QStringLiteral("tap: bad frame"));
                protocol::Frame answer = **frame;
                if (m_tap->rewriteAnswer)
                    m_tap->rewriteAnswer(answer);
                m_ready += protocol::encodeFrame(answer);
            }
        }
        const qsizetype n = std::min(max, m_ready.size());
        memcpy(buffer, m_ready.constData(), size_t(n));
        m_ready.remove(0, n);
        return n;
    }

    void close() override { m_inner->close(); }

private:
    std::unique_ptr<flashing::Transport> m_inner;
    std::shared_ptr<Tap> m_tap;
    protocol::FrameDecoder m_requests;
    protocol::FrameDecoder m_answers;
    QByteArray m_ready;
};

} // namespace keyline::test
