//! The loader's images (kernel and root task) are read by the project's shared ELF reader,
//! `elf-image`: a static aarch64 ELF64 executable with 1..=16 non-empty `PT_LOAD` segments,
//! each inside the file with `p_filesz <= p_memsz` and no address wrap. Placement rules are the
//! loader's own ([`crate::layout`]).

pub use elf_image::{Error as ElfError, Image as Elf, MAX_SEGMENTS as MAX_LOAD_SEGMENTS, Segment};
