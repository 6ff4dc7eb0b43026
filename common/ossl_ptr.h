#pragma once

// Owning pointers for OpenSSL objects. Header-only and free of OpenSSL includes so that
// common/ stays OpenSSL-free; only code that already includes OpenSSL instantiates it.

#include <memory>

namespace keyline {

template <auto FreeFn>
struct OsslDeleter {
    template <typename T>
    void operator()(T* p) const {
        FreeFn(p);
    }
};

// OsslPtr<X509, X509_free> owns an X509* and frees it with X509_free.
template <typename T, auto FreeFn>
using OsslPtr = std::unique_ptr<T, OsslDeleter<FreeFn>>;

} // namespace keyline
