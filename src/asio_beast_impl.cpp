// Separate compilation of Boost.Asio and Boost.Beast (BOOST_*_SEPARATE_COMPILATION): their
// implementation is compiled once here instead of in every translation unit.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
