#pragma once

// A strict DER reader (definite minimal lengths, single-byte tags, at most two length octets)
// handing out views into the caller's buffer: for the station's CSR check and the virtual
// devices' certificate check, where OpenSSL 3.0's d2i functions would decode the public key
// through the provider decoder framework, which costs more than the signature.

#include <QByteArrayView>

namespace keyline::der {

// One element: its tag, content octets and the whole encoding.
struct Tlv {
    unsigned char tag = 0;
    QByteArrayView content;
    QByteArrayView whole;
};

// Reads consecutive DER elements from a buffer. The first error sticks: later reads fail and
// error() names the first problem, so call sites can chain reads and check once.
class Reader {
public:
    explicit Reader(QByteArrayView bytes)
        : m_p(reinterpret_cast<const unsigned char*>(bytes.data()))
        , m_end(m_p + bytes.size()) {}

    bool atEnd() const { return m_p == m_end; }
    bool failed() const { return m_error != nullptr; }
    const char* error() const { return m_error; }
    qsizetype remaining() const { return m_end - m_p; }
    // The next element's tag, 0 at the end (0 is never a valid DER tag here).
    unsigned char peekTag() const { return failed() || atEnd() ? 0 : *m_p; }

    bool fail(const char* why) {
        if (!m_error)
            m_error = why;
        return false;
    }

    bool next(Tlv& out) {
        if (failed())
            return false;
        const unsigned char* start = m_p;
        if (remaining() < 2)
            return fail("truncated element");
        const unsigned char tag = *m_p++;
        if ((tag & 0x1f) == 0x1f)
            return fail("multi-byte tag");
        const unsigned char first = *m_p++;
        qsizetype len = first;
        if (first == 0x80)
            return fail("indefinite length");
        if (first > 0x80) {
            // Two length octets cover 64 KiB, far past the 4 KiB that every structure read
            // with this (CSRs, certificates) is held to before it is parsed.
            const int n = first & 0x7f;
            if (n > 2)
                return fail("length past the end");
            if (remaining() < n)
                return fail("truncated length");
            if (m_p[0] == 0)
                return fail("non-minimal length");
            len = 0;
            for (int i = 0; i < n; ++i)
                len = (len << 8) | *m_p++;
            if (len < 0x80)
                return fail("non-minimal length");
        }
        if (len > remaining())
            return fail("length past the end");
        out.tag = tag;
        out.content = QByteArrayView(reinterpret_cast<const char*>(m_p), len);
        m_p += len;
        out.whole = QByteArrayView(reinterpret_cast<const char*>(start), m_p - start);
        return true;
    }

    bool expect(unsigned char tag, Tlv& out, const char* what) {
        if (!next(out))
            return false;
        return out.tag == tag || fail(what);
    }

private:
    const unsigned char* m_p;
    const unsigned char* m_end;
    const char* m_error = nullptr;
};

} // namespace keyline::der
