#include "hsm/csr_parse.h"

#include "common/der_reader.h"

namespace keyline::hsm {

namespace {

constexpr unsigned char kInteger = 0x02;
constexpr unsigned char kBitString = 0x03;
constexpr unsigned char kOid = 0x06;
constexpr unsigned char kSequence = 0x30;
constexpr unsigned char kSet = 0x31;
constexpr unsigned char kAttributes = 0xa0; // [0] IMPLICIT, constructed
constexpr unsigned char kUtf8String = 0x0c;
constexpr unsigned char kPrintableString = 0x13;
constexpr unsigned char kIa5String = 0x16;
// Deep enough for any real attribute (extensionRequest nests five levels), shallow enough
// that hostile nesting cannot exhaust the stack.
constexpr int kMaxDepth = 12;

using der::Reader;
using der::Tlv;

bool validOid(QByteArrayView c) {
    // Base-128 subidentifiers: the last octet ends one, and none starts with a padding 0x80.
    if (c.isEmpty() || (c.back() & 0x80))
        return false;
    bool startOfSub = true;
    for (char ch : c) {
        const auto b = static_cast<unsigned char>(ch);
        if (startOfSub && b == 0x80)
            return false;
        startOfSub = !(b & 0x80);
    }
    return true;
}

// Every element in `bytes` well-formed DER, recursively: for the parts the checks skip
// (attributes, name values), so nothing malformed hides in them.
bool wellFormed(QByteArrayView bytes, int depth, Reader& outer) {
    if (depth > kMaxDepth)
        return outer.fail("nested too deeply");
    Reader r(bytes);
    Tlv t;
    while (!r.atEnd()) {
        if (!r.next(t))
            return outer.fail(r.error());
        const bool constructed = t.tag & 0x20;
        const bool universal = (t.tag & 0xc0) == 0;
        // DER encodes universal strings primitively; only SEQUENCE and SET are constructed.
        if (universal && constructed && t.tag != kSequence && t.tag != kSet)
            return outer.fail("constructed string");
        if (universal && !constructed && (t.tag == 0 || t.tag == 0x10 || t.tag == 0x11))
            return outer.fail("primitive SEQUENCE or SET");
        if (t.tag == kOid && !validOid(t.content))
            return outer.fail("bad object identifier");
        if (constructed && !wellFormed(t.content, depth + 1, outer))
            return false;
    }
    return true;
}

bool algorithmIdentifier(Reader& r, QByteArrayView* oidOut, QByteArrayView* paramsOut,
                         const char* what) {
    Tlv alg, o, params;
    if (!r.expect(kSequence, alg, what))
        return false;
    Reader in(alg.content);
    if (!in.expect(kOid, o, what) || !validOid(o.content))
        return r.fail(in.failed() ? in.error() : "bad object identifier");
    *oidOut = o.content;
    *paramsOut = {};
    if (!in.atEnd()) {
        if (!in.next(params) || !wellFormed(params.whole, 0, in))
            return r.fail(in.error());
        *paramsOut = params.whole;
    }
    return in.atEnd() || r.fail("fields after the algorithm parameters");
}

bool name(Reader& r, QByteArrayView* out) {
    Tlv n, rdn, ava, type, value;
    if (!r.expect(kSequence, n, "subject is not a Name"))
        return false;
    Reader rdns(n.content);
    while (!rdns.atEnd()) {
        if (!rdns.expect(kSet, rdn, "subject RDN is not a SET"))
            return r.fail(rdns.error());
        Reader avas(rdn.content);
        if (avas.atEnd())
            return r.fail("empty subject RDN");
        while (!avas.atEnd()) {
            if (!avas.expect(kSequence, ava, "subject attribute is not a SEQUENCE"))
                return r.fail(avas.error());
            Reader in(ava.content);
            if (!in.expect(kOid, type, "subject attribute type is not an OID") || !in.next(value))
                return r.fail(in.error());
            if (!validOid(type.content))
                return r.fail("bad object identifier");
            if (value.tag & 0x20)
                return r.fail("subject attribute value is not a string");
            if (!in.atEnd())
                return r.fail("fields after a subject attribute value");
        }
    }
    *out = n.whole;
    return true;
}

bool attributes(Reader& r) {
    Tlv attrs, attr, type, values;
    if (!r.expect(kAttributes, attrs, "attributes [0] missing"))
        return false;
    Reader list(attrs.content);
    while (!list.atEnd()) {
        if (!list.expect(kSequence, attr, "attribute is not a SEQUENCE"))
            return r.fail(list.error());
        Reader in(attr.content);
        if (!in.expect(kOid, type, "attribute type is not an OID") ||
            !in.expect(kSet, values, "attribute values are not a SET") ||
            !wellFormed(values.content, 1, in))
            return r.fail(in.error());
        if (!validOid(type.content))
            return r.fail("bad object identifier");
        if (!in.atEnd())
            return r.fail("fields after an attribute's values");
    }
    return true;
}

} // namespace

Result<CsrFields> parseCsrDer(QByteArrayView der) {
    CsrFields f;
    Reader top(der);
    Tlv req, info, version, spki, bits, sig;
    top.expect(kSequence, req, "not a SEQUENCE");
    if (!top.failed() && !top.atEnd())
        top.fail("bytes after the request");

    Reader r(req.content);
    if (r.expect(kSequence, info, "CertificationRequestInfo is not a SEQUENCE")) {
        f.info = info.whole;
        Reader in(info.content);
        if (in.expect(kInteger, version, "version is not an INTEGER") &&
            version.content != QByteArrayView("\x00", 1))
            in.fail("version is not 1 (encoded 0)");
        name(in, &f.subject);
        if (in.expect(kSequence, spki, "SubjectPublicKeyInfo is not a SEQUENCE")) {
            f.spki = spki.whole;
            Reader key(spki.content);
            algorithmIdentifier(key, &f.keyAlgOid, &f.keyParams, "bad key algorithm");
            if (key.expect(kBitString, bits, "public key is not a BIT STRING") &&
                (bits.content.isEmpty() || bits.content.front() != 0))
                key.fail("public key BIT STRING has unused bits");
            if (!key.failed() && !key.atEnd())
                key.fail("fields after the public key");
            if (key.failed())
                in.fail(key.error());
            f.keyBits = bits.content;
        }
        attributes(in);
        if (!in.failed() && !in.atEnd())
            in.fail("fields after the attributes");
        if (in.failed())
            r.fail(in.error());
    }
    algorithmIdentifier(r, &f.sigAlgOid, &f.sigParams, "bad signature algorithm");
    if (r.expect(kBitString, sig, "signature is not a BIT STRING") &&
        (sig.content.isEmpty() || sig.content.front() != 0))
        r.fail("signature BIT STRING has unused bits");
    if (!r.failed() && !r.atEnd())
        r.fail("fields after the signature");
    const char* why = top.failed() ? top.error() : r.error();
    if (why)
        return Error(ErrorCode::BadInput, QString::fromLatin1(why));
    f.signature = sig.content.sliced(1);
    return f;
}

SubjectMatch matchSubjectCn(QByteArrayView nameDer, QByteArrayView expectedCn) {
    Reader top(nameDer);
    Tlv n, rdn, ava, type, value;
    if (!top.expect(kSequence, n, "") || !top.atEnd())
        return SubjectMatch::Malformed;
    Reader rdns(n.content);
    if (!rdns.expect(kSet, rdn, "") || !rdns.atEnd())
        return rdns.failed() && !rdns.atEnd() ? SubjectMatch::Malformed : SubjectMatch::Different;
    Reader avas(rdn.content);
    if (!avas.expect(kSequence, ava, "") || !avas.atEnd())
        return SubjectMatch::Different;
    Reader in(ava.content);
    if (!in.expect(kOid, type, "") || !in.next(value) || !in.atEnd())
        return SubjectMatch::Malformed;
    const bool stringType =
        value.tag == kUtf8String || value.tag == kPrintableString || value.tag == kIa5String;
    return type.content == oid::commonName && stringType && value.content == expectedCn
               ? SubjectMatch::Exact
               : SubjectMatch::Different;
}

} // namespace keyline::hsm
