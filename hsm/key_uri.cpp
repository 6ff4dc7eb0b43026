// p11-kit's URI parser brings its own pkcs11.h, which clashes with pkcs11-helper's: this file
// includes only p11-kit and hands plain Qt values to the rest of hsm/.
#include "hsm/key_uri.h"

#include <cstring>
#include <memory>
#include <p11-kit/uri.h>

namespace keyline::hsm {

namespace {

struct UriFree {
    void operator()(P11KitUri* u) const { p11_kit_uri_free(u); }
};

// PKCS#11 pads fixed-size text with spaces; p11-kit leaves a field it did not parse all NUL.
QString fixedText(const CK_UTF8CHAR* text, std::size_t size) {
    QByteArray raw(reinterpret_cast<const char*>(text), qsizetype(size));
    while (!raw.isEmpty() && (raw.back() == '\0' || raw.back() == ' '))
        raw.chop(1);
    return QString::fromUtf8(raw);
}

} // namespace

Result<KeyUri> KeyUri::parse(const QString& uri) {
    std::unique_ptr<P11KitUri, UriFree> parsed(p11_kit_uri_new());
    const QByteArray text = uri.toUtf8();
    const int rc = p11_kit_uri_parse(text.constData(), P11_KIT_URI_FOR_ANY, parsed.get());
    if (rc != P11_KIT_URI_OK)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("'%1' is not a PKCS#11 URI (RFC 7512): %2")
                         .arg(uri, QString::fromUtf8(p11_kit_uri_message(rc))));
    KeyUri out;
    if (CK_TOKEN_INFO* ti = p11_kit_uri_get_token_info(parsed.get()))
        out.token = fixedText(ti->label, sizeof ti->label);
    if (CK_ATTRIBUTE* a = p11_kit_uri_get_attribute(parsed.get(), CKA_LABEL))
        out.object =
            QString::fromUtf8(static_cast<const char*>(a->pValue), qsizetype(a->ulValueLen));
    if (CK_ATTRIBUTE* a = p11_kit_uri_get_attribute(parsed.get(), CKA_ID))
        out.id = QByteArray(static_cast<const char*>(a->pValue), qsizetype(a->ulValueLen));
    if (CK_ATTRIBUTE* a = p11_kit_uri_get_attribute(parsed.get(), CKA_CLASS);
        a && a->ulValueLen == sizeof(CK_OBJECT_CLASS)) {
        CK_OBJECT_CLASS cls;
        std::memcpy(&cls, a->pValue, sizeof cls);
        switch (cls) {
        case CKO_PRIVATE_KEY:
            out.type = QStringLiteral("private");
            break;
        case CKO_PUBLIC_KEY:
            out.type = QStringLiteral("public");
            break;
        case CKO_SECRET_KEY:
            out.type = QStringLiteral("secret");
            break;
        case CKO_CERTIFICATE:
            out.type = QStringLiteral("cert");
            break;
        default:
            break;
        }
    }
    if (out.object.isEmpty())
        return Error(
            ErrorCode::BadInput,
            QStringLiteral("PKCS#11 URI '%1' names no object: add ;object=<key label>").arg(uri));
    return out;
}

QString KeyUri::toString() const {
    std::unique_ptr<P11KitUri, UriFree> u(p11_kit_uri_new());
    if (!token.isEmpty()) {
        CK_TOKEN_INFO* ti = p11_kit_uri_get_token_info(u.get());
        const QByteArray l = token.toUtf8().left(sizeof ti->label);
        std::memset(ti->label, ' ', sizeof ti->label);
        std::memcpy(ti->label, l.constData(), std::size_t(l.size()));
    }
    QByteArray label = object.toUtf8();
    CK_ATTRIBUTE la{CKA_LABEL, label.data(), CK_ULONG(label.size())};
    p11_kit_uri_set_attribute(u.get(), &la);
    QByteArray idCopy = id;
    if (!idCopy.isEmpty()) {
        CK_ATTRIBUTE ia{CKA_ID, idCopy.data(), CK_ULONG(idCopy.size())};
        p11_kit_uri_set_attribute(u.get(), &ia);
    }
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    bool haveClass = true;
    if (type == QLatin1String("private"))
        cls = CKO_PRIVATE_KEY;
    else if (type == QLatin1String("public"))
        cls = CKO_PUBLIC_KEY;
    else if (type == QLatin1String("secret"))
        cls = CKO_SECRET_KEY;
    else if (type == QLatin1String("cert"))
        cls = CKO_CERTIFICATE;
    else
        haveClass = false;
    if (haveClass) {
        CK_ATTRIBUTE ca{CKA_CLASS, &cls, sizeof cls};
        p11_kit_uri_set_attribute(u.get(), &ca);
    }
    char* text = nullptr;
    if (p11_kit_uri_format(u.get(), P11_KIT_URI_FOR_ANY, &text) != P11_KIT_URI_OK || !text)
        return QString();
    const QString out = QString::fromUtf8(text);
    free(text);
    return out;
}

} // namespace keyline::hsm
