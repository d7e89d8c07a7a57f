package io.github.magmajava.bench;

/**
 * The convolutions of CLIP RN50x16 at a 384 x 384 input, one of each kind (every later block of a
 * stage repeats its stage's shapes). Input size is the side of the square map the conv reads.
 */
public enum ConvShape {
    STEM1(3, 48, 3, 2, 384),
    STEM2(48, 48, 3, 1, 192),
    STEM3(48, 96, 3, 1, 192),
    /** layer1 conv1 of blocks 1..5 (block 0 reads 96 channels). */
    LAYER1_1X1_IN(384, 96, 1, 1, 96),
    LAYER1_3X3(96, 96, 3, 1, 96),
    /** layer1 conv3 and the downsample. */
    LAYER1_1X1_OUT(96, 384, 1, 1, 96),
    /** layer2 block 0's 3x3 runs before its anti-aliasing pool, at the full 96 x 96. */
    LAYER2_0_3X3(192, 192, 3, 1, 96),
    LAYER2_3X3(192, 192, 3, 1, 48),
    LAYER3_1X1_IN(1536, 384, 1, 1, 24),
    LAYER3_3X3(384, 384, 3, 1, 24),
    LAYER3_1X1_OUT(384, 1536, 1, 1, 24),
    LAYER4_3X3(768, 768, 3, 1, 12),
    LAYER4_1X1_OUT(768, 3072, 1, 1, 12);

    final int in;
    final int out;
    final int kernel;
    final int stride;
    final int size;

    ConvShape(int in, int out, int kernel, int stride, int size) {
        this.in = in;
        this.out = out;
        this.kernel = kernel;
        this.stride = stride;
        this.size = size;
    }

    int padding() {
        return kernel / 2;
    }

    int outSize() {
        return (size + 2 * padding() - kernel) / stride + 1;
    }
}
