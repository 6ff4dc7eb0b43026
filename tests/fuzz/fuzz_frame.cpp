// libFuzzer target: the station's and the device's view of bytes from the other side.
// Feeds the input to the one-shot frame decoder, to the streaming decoder in pieces whose
// sizes the input chooses, and every decoded payload to every command's decoder.
#include "flashing/commands.h"
#include "flashing/frame.h"

#include <cstddef>
#include <cstdint>

using namespace keyline::protocol;

namespace {

void decodeEveryMessage(const QByteArray& payload) {
    (void)ErrorResponse::decode(payload);
    (void)IdentifyInfo::decode(payload);
    (void)ChallengeRequest::decode(payload);
    (void)ChallengeResponse::decode(payload);
    (void)EphemeralKeyResponse::decode(payload);
    (void)OtpBurnRequest::decode(payload);
    (void)OtpStatusResponse::decode(payload);
    (void)KeystoreWriteRequest::decode(payload);
    (void)KeystoreStatusResponse::decode(payload);
    (void)DeviceKeyRequest::decode(payload);
    (void)DeviceKeyResponse::decode(payload);
    (void)CertificateChain::decode(payload);
    (void)FlashBeginRequest::decode(payload);
    (void)FlashChunkRequest::decode(payload);
    (void)FlashProgress::decode(payload);
    (void)FlashStatusResponse::decode(payload);
    (void)BootReportRequest::decode(payload);
    (void)BootReportResponse::decode(payload);
    if (auto report = BootReport::decode(payload); report.ok()) {
        // What decodes must encode back to the same bytes: no field is silently dropped.
        if (report->encode() != payload)
            __builtin_trap();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const QByteArray bytes =
        QByteArray::fromRawData(reinterpret_cast<const char*>(data), static_cast<qsizetype>(size));
    decodeEveryMessage(bytes);
    if (auto frame = decodeFrame(bytes); frame.ok()) {
        decodeEveryMessage(frame->payload);
        if (encodeFrame(*frame) != bytes)
            __builtin_trap();
    }

    FrameDecoder decoder;
    std::size_t pos = 0;
    while (pos < size) {
        std::size_t piece = 1 + data[pos] % 64;
        piece = std::min(piece, size - pos);
        decoder.feed(reinterpret_cast<const char*>(data + pos), static_cast<int>(piece));
        pos += piece;
        while (auto next = decoder.next()) {
            if (!next->ok() && decoder.poisoned())
                return 0;
            if (next->ok())
                decodeEveryMessage((*next)->payload);
        }
    }
    return 0;
}
