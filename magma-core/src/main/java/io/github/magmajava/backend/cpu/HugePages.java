package io.github.magmajava.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Large native buffers (folded convolution weights, prefill scratch) that ask Linux for
 * transparent huge pages. Fresh 4 KiB pages are zeroed and mapped one fault at a time: 600 MB
 * took 2.3 s on the 2-core machine of docs/performance.md, the same with
 * {@code madvise(MADV_HUGEPAGE)} 0.06-0.6 s. Anonymous {@code mmap} (zeroed, page-aligned) plus
 * that advice, unmapped when the owning arena closes; where the calls are missing or fail (not
 * Linux, a kernel without THP, a full address space) a plain {@code Arena.allocate}.
 */
final class HugePages {
    private static final long HUGE_PAGE = 2L << 20;
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final int MADV_HUGEPAGE = 14;
    /** Below this a buffer is not worth a mapping of its own. */
    private static final long MIN_BYTES = 4 * HUGE_PAGE;
    private static final Optional<Calls> CALLS = Calls.find();

    private HugePages() {
    }

    /** {@code bytes} of zeroed native memory, at least 64-byte aligned, freed when {@code arena} closes. */
    static MemorySegment allocate(Arena arena, long bytes) {
        if (bytes >= MIN_BYTES && CALLS.isPresent()) {
            MemorySegment mapped = CALLS.get().map(arena, bytes);
            if (mapped != null) {
                return mapped;
            }
        }
        return arena.allocate(Math.max(bytes, 1), 64);
    }

    /**
     * Many long-lived buffers (one per convolution: most are a few MB, below a huge page's worth
     * of waste) cut from shared huge-page chunks. Its arena is automatic: the memory goes when the
     * slab and every buffer cut from it are unreachable, so native code never sees it freed early.
     */
    static final class Slab {
        private static final long CHUNK = 64L << 20;
        private final Arena arena = Arena.ofAuto();
        private MemorySegment chunk = MemorySegment.NULL;
        private long used;

        /** {@code bytes} of zeroed memory, 64-byte aligned. */
        synchronized MemorySegment allocate(long bytes) {
            long aligned = (Math.max(bytes, 1) + 63) & ~63L;
            if (chunk.byteSize() - used < aligned) {
                chunk = HugePages.allocate(arena, Math.max(CHUNK, aligned));
                used = 0;
            }
            MemorySegment buffer = chunk.asSlice(used, bytes);
            used += aligned;
            return buffer;
        }
    }

    private record Calls(MethodHandle mmap, MethodHandle madvise, MethodHandle munmap) {
        static Optional<Calls> find() {
            if (!System.getProperty("os.name", "").startsWith("Linux")) {
                return Optional.empty();
            }
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                MethodHandle mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_LONG));
                MethodHandle madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
                MethodHandle munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
                return Optional.of(new Calls(mmap, madvise, munmap));
            } catch (RuntimeException | LinkageError e) {
                // No native access (e.g. --enable-native-access denied) or no such symbols.
                return Optional.empty();
            }
        }

        /** A mapping of {@code bytes} rounded up to whole huge pages, or null when mmap fails. */
        MemorySegment map(Arena arena, long bytes) {
            long size = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
            try {
                MemorySegment address = (MemorySegment) mmap.invokeExact(MemorySegment.NULL, size, PROT_READ_WRITE,
                        MAP_PRIVATE_ANONYMOUS, -1, 0L);
                if (address.address() == -1L || address.address() == 0L) {
                    return null;
                }
                // Only advice: if refused, the mapping still works with small pages.
                int ignored = (int) madvise.invokeExact(address, size, MADV_HUGEPAGE);
                return address.reinterpret(size, arena, segment -> unmap(segment, size)).asSlice(0, bytes);
            } catch (Throwable e) {
                return null;
            }
        }

        private void unmap(MemorySegment segment, long size) {
            try {
                int ignored = (int) munmap.invokeExact(MemorySegment.ofAddress(segment.address()), size);
            } catch (Throwable e) {
                throw new IllegalStateException("munmap failed", e);
            }
        }
    }
}
