#include "flashing/frame.h"

#include <catch2/catch.hpp>

using namespace keyline;
using namespace keyline::protocol;

namespace {

Frame frameWith(std::uint32_t sequence, QByteArray payload) {
    Frame f;
    f.command = 0x0041;
    f.sequence = sequence;
    f.payload = std::move(payload);
    return f;
}

} // namespace

TEST_CASE("decoder: frames split at every byte boundary reassemble", "[frame][decoder]") {
    QByteArray stream = encodeFrame(frameWith(1, "first")) + encodeFrame(frameWith(2, "second"));
    for (int split = 0; split <= stream.size(); ++split) {
        FrameDecoder d;
        d.feed(stream.left(split));
        QList<std::uint32_t> seen;
        while (auto f = d.next()) {
            REQUIRE(f->ok());
            seen.append((*f)->sequence);
        }
        d.feed(stream.mid(split));
        while (auto f = d.next()) {
            REQUIRE(f->ok());
            seen.append((*f)->sequence);
        }
        CHECK(seen == QList<std::uint32_t>{1, 2});
        CHECK(d.pending() == 0);
    }
}

TEST_CASE("decoder: byte-at-a-time feeding", "[frame][decoder]") {
    QByteArray stream = encodeFrame(frameWith(9, QByteArray(3000, 'a')));
    FrameDecoder d;
    int frames = 0;
    for (char c : stream) {
        d.feed(&c, 1);
        while (auto f = d.next()) {
            REQUIRE(f->ok());
            CHECK((*f)->payload.size() == 3000);
            ++frames;
        }
    }
    CHECK(frames == 1);
}

TEST_CASE("decoder: missing() tells how many bytes complete the frame", "[frame][decoder]") {
    QByteArray wire = encodeFrame(frameWith(3, QByteArray(100, 'z')));
    FrameDecoder d;
    CHECK(d.missing() == kHeaderSize + kTrailerSize);
    d.feed(wire.left(kHeaderSize));
    CHECK(d.missing() == 100 + kTrailerSize);
    CHECK_FALSE(d.next().has_value());
    d.feed(wire.mid(kHeaderSize));
    CHECK(d.next().has_value());
}

TEST_CASE("decoder: a damaged frame is reported and the next one still decodes",
          "[frame][decoder]") {
    QByteArray bad = encodeFrame(frameWith(1, "damaged"));
    bad[kHeaderSize] = char(bad[kHeaderSize] ^ 0x10);
    FrameDecoder d;
    d.feed(bad + encodeFrame(frameWith(2, "intact")));
    auto first = d.next();
    REQUIRE(first.has_value());
    REQUIRE_FALSE(first->ok());
    CHECK(FrameFault(first->error().detail()) == FrameFault::BadCheck);
    CHECK_FALSE(d.poisoned());
    auto second = d.next();
    REQUIRE(second.has_value());
    REQUIRE(second->ok());
    CHECK((*second)->payload == "intact");
}

TEST_CASE("decoder: a lost frame boundary poisons the stream for good", "[frame][decoder]") {
    FrameDecoder d;
    d.feed(QByteArray("GARBAGE-GARBAGE-GARBAGE"));
    auto r = d.next();
    REQUIRE(r.has_value());
    REQUIRE_FALSE(r->ok());
    CHECK(FrameFault(r->error().detail()) == FrameFault::BadMagic);
    CHECK(d.poisoned());
    // Even a valid frame afterwards is not trusted: the link has to be reset.
    d.feed(encodeFrame(frameWith(1, "ok")));
    auto again = d.next();
    REQUIRE(again.has_value());
    CHECK_FALSE(again->ok());
}

TEST_CASE("decoder: an oversized length is refused before the bytes arrive", "[frame][decoder]") {
    QByteArray header = encodeFrame(frameWith(1, "x")).left(kHeaderSize);
    header[12] = 0x10; // 256 MiB
    FrameDecoder d;
    d.feed(header);
    auto r = d.next();
    REQUIRE(r.has_value());
    REQUIRE_FALSE(r->ok());
    CHECK(FrameFault(r->error().detail()) == FrameFault::Oversized);
}

TEST_CASE("decoder: reading straight into the buffer equals feeding", "[frame][decoder]") {
    QByteArray stream = encodeFrame(frameWith(1, QByteArray(70000, 'a'))) +
                        encodeFrame(frameWith(2, "small")) +
                        encodeFrame(frameWith(3, QByteArray(300000, 'c')));
    FrameDecoder d;
    QList<std::uint32_t> seen;
    qsizetype pos = 0;
    while (pos < stream.size()) {
        // Odd read sizes so that frames straddle reads; offer more room than is written.
        const qsizetype room = 9973;
        char* into = d.prepareWrite(room);
        const qsizetype n = std::min(room - 7, stream.size() - pos);
        memcpy(into, stream.constData() + pos, size_t(n));
        d.commitWrite(n);
        pos += n;
        while (auto f = d.next(FrameDecoder::PayloadMode::View)) {
            REQUIRE(f->ok());
            const Frame& frame = f->value();
            CHECK(frame.payload.size() == (frame.sequence == 1   ? 70000
                                           : frame.sequence == 2 ? 5
                                                                 : 300000));
            CHECK(frame.payload.endsWith(frame.sequence == 2   ? "l"
                                         : frame.sequence == 1 ? "a"
                                                               : "c"));
            seen.append(frame.sequence);
        }
    }
    CHECK(seen == QList<std::uint32_t>{1, 2, 3});
    CHECK(d.pending() == 0);
}

TEST_CASE("decoder: bytes committed after a poisoning are not kept", "[frame][decoder]") {
    FrameDecoder d;
    d.feed(QByteArray("XXXXXXXXXXXXXXXXXXXX"));
    REQUIRE(d.next().has_value());
    REQUIRE(d.poisoned());
    char* into = d.prepareWrite(64);
    memset(into, 'k', 64);
    d.commitWrite(64);
    CHECK(d.pending() == 20); // only what arrived before the stream was found out of step
}
