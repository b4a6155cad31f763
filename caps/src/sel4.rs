//! The mapping of Zircon rights onto seL4 capability rights, and back.
//!
//! TODO(helper): filled in by the caps work item.
