//! The Linux guest's files: fetching Debian's kernel and busybox, building the initramfs and the
//! boot blob (`linux_vmm::blob`) that QEMU preloads for `manifests/linux.toml`.
//!
//! - Fetch: Debian's own client. The arm64 architecture is added to dpkg if it is missing
//!   (`dpkg --add-architecture arm64; apt-get update`), the current `linux-image-*-cloud-arm64`
//!   is found through the `linux-image-cloud-arm64` metapackage, and both packages are fetched
//!   with `apt-get download` and unpacked with `dpkg-deb -x`. Everything lands in the cache,
//!   `$XDG_CACHE_HOME/sel4-vcpu/linux/` (or `~/.cache/sel4-vcpu/linux/`), never in the work tree;
//!   a second run reuses it. Offline, the error says so.
//! - Overrides: `LINUX_IMAGE=<path>` (an arm64 Image, or a gzip-compressed one) and
//!   `LINUX_INITRD=<path>` (any initramfs the kernel can unpack) replace the defaults;
//!   `LINUX_CMDLINE` replaces the kernel command line. Both files are checked (Image magic, sizes
//!   against guest RAM) with a clear error.
//! - Initramfs: a cpio "newc" archive, gzip-compressed, written here: `/bin/busybox` with the
//!   applet links `/init` needs, `/init` ([`INIT_SCRIPT`]), and the usual mount points.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use linux_vmm::{blob, image, layout};

/// The kernel command line of the test and `run-linux` (not quiet: the banner must show).
pub const CMDLINE: &str = "console=ttyAMA0 panic=-1";
/// The command line of the benchmark.
pub const CMDLINE_QUIET: &str = "console=ttyAMA0 panic=-1 quiet";
/// The name of the preload this module provides.
pub const PRELOAD: &str = "linux-boot";

/// The project's `/init`: one line (kernel release, CPU count, uptime), a kernel-log line whose
/// timestamp the benchmark reads, then `poweroff -f` (PSCI SYSTEM_OFF).
pub const INIT_SCRIPT: &str = "#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo \"INIT: hello from Debian Linux $(uname -r) on $(nproc) cpu(s), uptime $(cut -d' ' -f1 /proc/uptime) s\"
echo \"<2>init: reached /init\" > /dev/kmsg
poweroff -f
";

/// Busybox applets `/init` uses (links to `/bin/busybox`).
const APPLETS: &[&str] = &[
    "sh", "mount", "uname", "nproc", "cut", "cat", "echo", "poweroff",
];

/// The guest files to boot.
#[derive(Debug)]
pub struct GuestFiles {
    /// The uncompressed arm64 Image.
    pub image: Vec<u8>,
    /// The initramfs.
    pub initrd: Vec<u8>,
    /// True when the initramfs is the project's own (its `/init` prints `INIT:`).
    pub own_init: bool,
    /// Where they came from, for the log.
    pub origin: String,
}

/// True if the user named their own guest files (`LINUX_IMAGE` or `LINUX_INITRD`).
pub fn overridden() -> bool {
    std::env::var_os("LINUX_IMAGE").is_some() || std::env::var_os("LINUX_INITRD").is_some()
}

/// The cache directory.
pub fn cache_dir() -> Result<PathBuf, String> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return Ok(PathBuf::from(x).join("sel4-vcpu/linux"));
    }
    let home = std::env::var_os("HOME").ok_or("neither XDG_CACHE_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cache/sel4-vcpu/linux"))
}

/// The guest files: the overrides, else the cached or freshly fetched Debian files.
pub fn guest_files() -> Result<GuestFiles, String> {
    let image_override = std::env::var_os("LINUX_IMAGE").map(PathBuf::from);
    let initrd_override = std::env::var_os("LINUX_INITRD").map(PathBuf::from);
    let need_fetch = image_override.is_none() || initrd_override.is_none();
    let cached = if need_fetch { Some(fetch()?) } else { None };
    let (image_path, mut origin) = match (&image_override, &cached) {
        (Some(p), _) => (p.clone(), format!("LINUX_IMAGE={}", p.display())),
        (None, Some(c)) => (c.image.clone(), format!("Debian {}", c.kernel_package)),
        (None, None) => unreachable!("fetched when no override"),
    };
    let raw = read(&image_path, "LINUX_IMAGE")?;
    let image = decompress_if_gzip(raw).map_err(|e| format!("{}: {e}", image_path.display()))?;
    let (initrd, own_init) = match (&initrd_override, &cached) {
        (Some(p), _) => {
            origin.push_str(&format!(", LINUX_INITRD={}", p.display()));
            (read(p, "LINUX_INITRD")?, false)
        }
        (None, Some(c)) => {
            let busybox = read(&c.busybox, "busybox")?;
            origin.push_str(", the project's busybox initramfs");
            (initramfs(&busybox)?, true)
        }
        (None, None) => unreachable!("fetched when no override"),
    };
    check(&image, &initrd).map_err(|e| format!("{origin}: {e}"))?;
    Ok(GuestFiles {
        image,
        initrd,
        own_init,
        origin,
    })
}

/// Checks an Image and an initramfs against the guest's layout.
pub fn check(image_bytes: &[u8], initrd: &[u8]) -> Result<layout::Placement, String> {
    let header = image::parse(image_bytes).map_err(|e| format!("the Image: {e}"))?;
    if initrd.is_empty() {
        return Err("the initramfs is empty".into());
    }
    layout::place(&header, initrd.len() as u64).map_err(|e| e.to_string())
}

/// The boot blob for `files` with `cmdline`.
pub fn boot_blob(files: &GuestFiles, cmdline: &str) -> Result<Vec<u8>, String> {
    let flags = if files.own_init {
        blob::FLAG_OWN_INIT
    } else {
        0
    };
    let (header, image_at, initrd_at, total) =
        blob::header(files.image.len(), files.initrd.len(), cmdline, flags)
            .map_err(|e| format!("the command line `{cmdline}`: {e}"))?;
    let mut out = vec![0u8; total];
    out[..header.len()].copy_from_slice(&header);
    out[image_at..image_at + files.image.len()].copy_from_slice(&files.image);
    out[initrd_at..initrd_at + files.initrd.len()].copy_from_slice(&files.initrd);
    Ok(out)
}

/// The kernel command line: `LINUX_CMDLINE`, else `default`.
pub fn cmdline(default: &str) -> String {
    std::env::var("LINUX_CMDLINE").unwrap_or_else(|_| default.to_string())
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

fn decompress_if_gzip(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    if bytes.starts_with(&[0x1F, 0x8B]) {
        let mut out = Vec::new();
        let mut d = flate2::read::GzDecoder::new(&bytes[..]);
        std::io::Read::read_to_end(&mut d, &mut out)
            .map_err(|e| format!("gzip-compressed, but it does not decompress: {e}"))?;
        return Ok(out);
    }
    Ok(bytes)
}

/// The cached Debian files.
struct Cached {
    kernel_package: String,
    image: PathBuf,
    busybox: PathBuf,
}

/// Fetches (or finds in the cache) Debian's cloud kernel and busybox-static for arm64.
fn fetch() -> Result<Cached, String> {
    let dir = cache_dir()?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stamp = dir.join("kernel-package");
    let busybox = dir.join("busybox");
    if let Ok(pkg) = std::fs::read_to_string(&stamp) {
        let pkg = pkg.trim().to_string();
        let image = dir.join("Image");
        if image.is_file() && busybox.is_file() {
            return Ok(Cached {
                kernel_package: pkg,
                image,
                busybox,
            });
        }
    }
    println!(
        "xtask: fetching the Linux guest files into {}",
        dir.display()
    );
    ensure_arm64()?;
    let depends = output(
        Command::new("apt-cache").args(["depends", "linux-image-cloud-arm64:arm64"]),
        "apt-cache depends linux-image-cloud-arm64:arm64",
    )?;
    let pkg = depends
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .map(|p| p.trim_end_matches(":arm64").to_string())
        .find(|p| p.starts_with("linux-image-") && p.ends_with("-cloud-arm64"))
        .ok_or("apt-cache: linux-image-cloud-arm64 names no linux-image-*-cloud-arm64 package")?;
    let work = dir.join("download");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    output(
        Command::new("apt-get")
            .args(["download", &format!("{pkg}:arm64"), "busybox-static:arm64"])
            .current_dir(&work),
        "apt-get download (offline? the guest files need Debian's package archive once)",
    )?;
    let unpacked = work.join("root");
    for deb in std::fs::read_dir(&work).map_err(|e| e.to_string())? {
        let deb = deb.map_err(|e| e.to_string())?.path();
        if deb.extension().is_some_and(|x| x == "deb") {
            output(
                Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked),
                "dpkg-deb -x",
            )?;
        }
    }
    let abi = pkg.trim_start_matches("linux-image-");
    let vmlinuz = unpacked.join(format!("boot/vmlinuz-{abi}"));
    let image = decompress_if_gzip(read(&vmlinuz, "the kernel")?)?;
    image::parse(&image).map_err(|e| format!("{}: {e}", vmlinuz.display()))?;
    std::fs::write(dir.join("Image"), &image).map_err(|e| e.to_string())?;
    std::fs::copy(unpacked.join("bin/busybox"), &busybox)
        .map_err(|e| format!("busybox-static has no bin/busybox: {e}"))?;
    std::fs::write(&stamp, &pkg).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&work);
    println!("xtask: cached {pkg} (Image) and busybox-static");
    Ok(Cached {
        kernel_package: pkg,
        image: dir.join("Image"),
        busybox,
    })
}

/// Adds the arm64 architecture to dpkg (and updates the package lists) if it is missing.
fn ensure_arm64() -> Result<(), String> {
    let foreign = output(
        Command::new("dpkg").arg("--print-foreign-architectures"),
        "dpkg --print-foreign-architectures (a Debian system is needed to fetch the guest files)",
    )?;
    if foreign.lines().any(|l| l.trim() == "arm64") {
        return Ok(());
    }
    println!("xtask: adding the arm64 architecture to dpkg and updating the package lists");
    output(
        Command::new("dpkg").args(["--add-architecture", "arm64"]),
        "dpkg --add-architecture arm64 (needs root)",
    )?;
    output(
        Command::new("apt-get").arg("update"),
        "apt-get update (offline?)",
    )?;
    Ok(())
}

fn output(cmd: &mut Command, what: &str) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The project's initramfs (gzip-compressed cpio newc) around `busybox`.
pub fn initramfs(busybox: &[u8]) -> Result<Vec<u8>, String> {
    let mut c = Cpio::default();
    for dir in ["bin", "sbin", "dev", "proc", "sys", "root", "tmp"] {
        c.entry(dir, 0o040_755, &[]);
    }
    c.entry("bin/busybox", 0o100_755, busybox);
    for applet in APPLETS {
        c.entry(&format!("bin/{applet}"), 0o120_777, b"busybox");
    }
    c.entry("init", 0o100_755, INIT_SCRIPT.as_bytes());
    let archive = c.finish();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&archive).map_err(|e| e.to_string())?;
    gz.finish().map_err(|e| e.to_string())
}

/// A cpio archive in the "newc" format (header magic 070701, ASCII hex fields, names and data
/// padded to 4 bytes, ended by `TRAILER!!!`), as the kernel's initramfs unpacker reads it.
#[derive(Default)]
pub struct Cpio {
    out: Vec<u8>,
    ino: u32,
}

impl Cpio {
    /// Adds a file, directory or symlink (by `mode`) with contents `data` (a link's target).
    pub fn entry(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.ino += 1;
        let nlink = if mode & 0o170_000 == 0o040_000 { 2 } else { 1 };
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            nlink,
            0, // mtime
            data.len() as u32,
            0, // devmajor
            0, // devminor
            0, // rdevmajor
            0, // rdevminor
            name.len() as u32 + 1,
            0, // check
        ];
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while self.out.len() % 4 != 0 {
            self.out.push(0);
        }
    }

    /// The archive with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.ino = 0;
        self.entry("TRAILER!!!", 0, &[]);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a newc archive back: (name, mode, data) per entry.
    fn parse(mut a: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut off = 0usize;
        loop {
            assert_eq!(&a[..6], b"070701", "magic at {off}");
            let field = |i: usize| {
                u32::from_str_radix(std::str::from_utf8(&a[6 + 8 * i..14 + 8 * i]).unwrap(), 16)
                    .unwrap()
            };
            let (mode, size, namesize) = (field(1), field(6) as usize, field(11) as usize);
            let name = String::from_utf8(a[110..110 + namesize - 1].to_vec()).unwrap();
            let data_at = (110 + namesize).div_ceil(4) * 4;
            let data = a[data_at..data_at + size].to_vec();
            let next = (data_at + size).div_ceil(4) * 4;
            off += next;
            a = &a[next..];
            if name == "TRAILER!!!" {
                assert!(a.is_empty());
                return out;
            }
            out.push((name, mode, data));
        }
    }

    #[test]
    fn cpio_round_trip() {
        let mut c = Cpio::default();
        c.entry("bin", 0o040_755, &[]);
        c.entry("bin/x", 0o100_755, b"hello");
        c.entry("bin/sh", 0o120_777, b"busybox");
        let entries = parse(&c.finish());
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[1], ("bin/x".into(), 0o100_755, b"hello".to_vec()));
        assert_eq!(entries[2].2, b"busybox");
    }

    #[test]
    fn initramfs_holds_busybox_links_and_init() {
        let gz = initramfs(b"\x7fELF fake busybox").unwrap();
        let mut cpio = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut cpio).unwrap();
        let entries = parse(&cpio);
        let find = |n: &str| entries.iter().find(|e| e.0 == n).cloned();
        assert_eq!(find("init").unwrap().2, INIT_SCRIPT.as_bytes());
        assert_eq!(find("init").unwrap().1, 0o100_755);
        assert_eq!(find("bin/busybox").unwrap().2, b"\x7fELF fake busybox");
        for applet in APPLETS {
            let link = find(&format!("bin/{applet}")).unwrap();
            assert_eq!((link.1, link.2.as_slice()), (0o120_777, &b"busybox"[..]));
        }
        assert!(find("dev").is_some() && find("proc").is_some());
        assert!(INIT_SCRIPT.contains("poweroff -f"));
        assert!(INIT_SCRIPT.contains(&format!("echo \"{}", blob::INIT_MARKER)));
    }

    #[test]
    fn checks_refuse_bad_files() {
        let e = check(&[0u8; 100], b"x").unwrap_err();
        assert!(e.contains("arm64 Image magic"), "{e}");
        let mut img = vec![0u8; 4096];
        img[0x10..0x18].copy_from_slice(&(300u64 << 20).to_le_bytes());
        img[0x38..0x3C].copy_from_slice(&image::MAGIC.to_le_bytes());
        assert!(check(&img, b"x").unwrap_err().contains("guest RAM leaves"));
        img[0x10..0x18].copy_from_slice(&(4096u64).to_le_bytes());
        assert!(check(&img, &[]).unwrap_err().contains("empty"));
        assert!(check(&img, b"x").is_ok());
    }

    #[test]
    fn gzip_images_are_decompressed() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"raw image").unwrap();
        let packed = gz.finish().unwrap();
        assert_eq!(decompress_if_gzip(packed).unwrap(), b"raw image");
        assert_eq!(decompress_if_gzip(b"plain".to_vec()).unwrap(), b"plain");
        assert!(decompress_if_gzip(vec![0x1F, 0x8B, 0]).is_err());
    }

    #[test]
    fn blob_round_trips_through_the_vmm_decoder() {
        let files = GuestFiles {
            image: vec![7; 5000],
            initrd: vec![9; 300],
            own_init: true,
            origin: String::new(),
        };
        let b = boot_blob(&files, CMDLINE).unwrap();
        let d = blob::decode(&b).unwrap();
        assert_eq!(d.image, &files.image[..]);
        assert_eq!(d.initrd, &files.initrd[..]);
        assert_eq!(d.cmdline, CMDLINE);
        assert!(d.own_init);
    }
}
