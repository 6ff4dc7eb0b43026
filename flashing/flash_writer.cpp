#include "flashing/flash_writer.h"

#include "flashing/payload.h"

#include <deque>
#include <openssl/evp.h>

namespace keyline::flashing {

using namespace keyline::protocol;

QByteArray sha256(const QByteArray& data) {
    QByteArray out(kSha256Size, '\0');
    unsigned int len = 0;
    EVP_Digest(data.constData(), size_t(data.size()), reinterpret_cast<unsigned char*>(out.data()),
               &len, EVP_sha256(), nullptr);
    return out;
}

FlashImage FlashImage::of(QByteArray bytes) {
    QByteArray digest = flashing::sha256(bytes);
    return FlashImage{std::move(bytes), std::move(digest)};
}

FlashWriter::FlashWriter(DeviceClient& client, FlashOptions options)
    : m_client(client)
    , m_options(options) {}

Result<FlashStatusResponse> FlashWriter::write(const FlashImage& flashImage,
                                               std::uint32_t deviceMaxChunk,
                                               const FlashProgressFn& progress,
                                               const std::atomic<bool>* cancel) {
    m_bytesSent = 0;
    const QByteArray& image = flashImage.bytes;
    const QByteArray& digest = flashImage.sha256;
    if (image.isEmpty())
        return Error(ErrorCode::InvalidArgument, QStringLiteral("flash image is empty"));
    if (digest.size() != kSha256Size)
        return Error(ErrorCode::InvalidArgument, QStringLiteral("flash image has no SHA-256"));
    const auto total = std::uint64_t(image.size());

    KL_TRY_ASSIGN(FlashStatusResponse status, m_client.flashStatus());
    if (status.state == FlashState::Installed && status.sha256 == digest &&
        status.totalSize == total) {
        if (progress)
            progress(total, total);
        return status;
    }

    int chunk = m_options.chunkSize > 0 ? m_options.chunkSize : int(deviceMaxChunk);
    chunk = std::min({chunk, int(deviceMaxChunk), kMaxChunkData});
    if (chunk < 512)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("flash chunk size %1 is below 512 bytes").arg(chunk));

    std::uint64_t offset = 0;
    // A transfer of this very image that is complete but not (or not fully) committed only
    // needs the commit; anything else starts or resumes the transfer.
    bool onlyCommit =
        (status.state == FlashState::Received || status.state == FlashState::Interrupted) &&
        status.sha256 == digest && status.totalSize == total;
    if (!onlyCommit) {
        KL_TRY_ASSIGN(offset, m_client.flashBegin(total, digest));
        if (offset > total)
            return Error(ErrorCode::ProtocolViolation,
                         QStringLiteral("%1: device resumes at %2, past the %3-byte image")
                             .arg(m_client.port().endpoint)
                             .arg(offset)
                             .arg(total));
        KL_TRY_ASSIGN(offset, transfer(image, offset, chunk, progress, cancel));
    }
    KL_TRY_ASSIGN(FlashStatusResponse committed, m_client.flashCommit());
    if (committed.state != FlashState::Installed || committed.sha256 != digest)
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("%1: after commit the device reports %2 with another image")
                         .arg(m_client.port().endpoint, flashStateName(committed.state)));
    return committed;
}

Result<std::uint64_t> FlashWriter::transfer(const QByteArray& image, std::uint64_t from, int chunk,
                                            const FlashProgressFn& progress,
                                            const std::atomic<bool>* cancel) {
    struct InFlight {
        std::uint32_t sequence;
        std::uint64_t end;
    };
    const auto total = std::uint64_t(image.size());
    DeviceLink& link = m_client.link();
    const Millis timeout = m_client.timeouts().flashChunk;
    std::deque<InFlight> inFlight;
    std::uint64_t next = from; // next byte to send
    std::uint64_t acked = from;
    // Re-sends are counted per region: a long image may meet several damaged chunks, but one
    // region that never gets through is a failing link, not bad luck.
    std::uint64_t retryRegion = ~std::uint64_t(0);
    int retriesLeft = m_options.retries;

    while (acked < total) {
        if (cancel && cancel->load())
            return Error(ErrorCode::Refused,
                         QStringLiteral("flashing cancelled at byte %1").arg(acked));
        while (next < total && int(inFlight.size()) < std::max(1, m_options.window)) {
            auto len = int(std::min<std::uint64_t>(std::uint64_t(chunk), total - next));
            // The chunk's fields, written without copying the data: u64 offset, u32 length.
            QByteArray prefix = PayloadWriter().u64(next).u32(std::uint32_t(len)).bytes();
            KL_TRY_ASSIGN(std::uint32_t seq,
                          link.sendWithData(Command::FlashChunk, prefix, image.constData() + next,
                                            len, Deadline::in(timeout)));
            m_bytesSent += std::uint64_t(len);
            next += std::uint64_t(len);
            inFlight.push_back({seq, next});
        }
        InFlight oldest = inFlight.front();
        inFlight.pop_front();
        auto answer = link.receive(Command::FlashChunk, oldest.sequence, Deadline::in(timeout));
        if (answer.ok()) {
            KL_TRY_ASSIGN(FlashProgress p, FlashProgress::decode(*answer));
            if (p.offset != oldest.end)
                return Error(ErrorCode::ProtocolViolation,
                             QStringLiteral("%1: device acknowledged up to %2, expected %3")
                                 .arg(m_client.port().endpoint)
                                 .arg(p.offset)
                                 .arg(oldest.end));
            acked = p.offset;
            if (progress)
                progress(acked, total);
            continue;
        }
        const Error& e = answer.error();
        auto code = DeviceError(e.detail());
        bool recoverable =
            e.code() == ErrorCode::DeviceRefused &&
            (code == DeviceError::BadFrame || code == DeviceError::FlashOffsetMismatch);
        if (acked != retryRegion) {
            retryRegion = acked;
            retriesLeft = m_options.retries;
        }
        if (!recoverable || retriesLeft-- <= 0)
            return e.withContext(m_client.port().endpoint);
        // The device dropped this chunk; the ones behind it will be refused as out of order.
        // Drain them, ask the device where it stands and continue from there.
        while (!inFlight.empty()) {
            auto drained =
                link.receive(Command::FlashChunk, inFlight.front().sequence, Deadline::in(timeout));
            inFlight.pop_front();
            if (!drained.ok() && drained.error().code() != ErrorCode::DeviceRefused)
                return drained.error().withContext(m_client.port().endpoint);
        }
        KL_TRY_ASSIGN(FlashStatusResponse st, m_client.flashStatus());
        if (st.state != FlashState::Receiving || st.offset > total)
            return Error(ErrorCode::ProtocolViolation,
                         QStringLiteral("%1: device left the transfer (%2) after a damaged chunk")
                             .arg(m_client.port().endpoint, flashStateName(st.state)));
        next = acked = st.offset;
    }
    return acked;
}

} // namespace keyline::flashing
