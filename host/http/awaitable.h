// Boost.Asio's awaitable for the coroutines of host/http, with one GCC 12
// false positive silenced: -Wmismatched-new-delete fires on every coroutine
// returning asio::awaitable (GCC bug 109224: the frame's sized operator delete
// is matched against the global operator new). Include this instead of
// <boost/asio/awaitable.hpp> in every file of host/http that has coroutines.
// Also: GCC 12 miscompiles `co_await` inside an if-condition (`if (!co_await
// f())` resumed a finished frame); always await into a variable first.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/awaitable.hpp>
