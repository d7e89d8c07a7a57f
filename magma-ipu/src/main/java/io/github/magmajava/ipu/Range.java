package io.github.magmajava.ipu;

/** Indices {@code start <= i < end} of a tensor dimension. */
public record Range(long start, long end) {
    public Range {
        if (start < 0 || end < start) {
            throw new IllegalArgumentException("bad range [" + start + ", " + end + ")");
        }
    }

    public static Range all(long size) {
        return new Range(0, size);
    }

    public long length() {
        return end - start;
    }

    public boolean isAll(long size) {
        return start == 0 && end == size;
    }

    @Override
    public String toString() {
        return start + ":" + end;
    }
}
