#pragma once
// Bodies of pipeline/publish/connection.hpp (see pipeline/core/config.hpp).

#include <boost/signals2/connection.hpp>

#include "pipeline/publish/connection.hpp"

namespace pipeline::inline v0 {

namespace internal {
struct ConnectionImpl {
  boost::signals2::connection connection;
};
}  // namespace internal

PIPELINE_INLINE void Connection::disconnect() {
  if (impl_) impl_->connection.disconnect();
}

PIPELINE_INLINE bool Connection::connected() const { return impl_ && impl_->connection.connected(); }

}  // namespace pipeline::inline v0
