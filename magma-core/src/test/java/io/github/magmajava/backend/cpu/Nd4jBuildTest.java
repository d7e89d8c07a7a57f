package io.github.magmajava.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Which nd4j oneDNN build a machine loads, from its OS, architecture and CPU flags (real
 * /proc/cpuinfo lines) and the jars on the class path. Never a build the CPU lacks instructions
 * for: that would kill the JVM.
 */
class Nd4jBuildTest {
    /** AMD EPYC (Zen 5), the project's VM: AVX-512 with BF16. */
    private static final Set<String> ZEN5 = Nd4jRuntime.procCpuinfoFlags("flags : fpu vme de pse tsc msr pae mce cx8 apic sep pge mca cmov pat"
            + " pse36 clflush mmx fxsr sse sse2 ht syscall nx mmxext lm constant_tsc rep_good nopl xtopology tsc_reliable nonstop_tsc cpuid"
            + " extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx"
            + " f16c rdrand hypervisor lahf_lm cr8_legacy misalignsse 3dnowprefetch topoext pti vmmcall bmi1 avx2 bmi2 erms avx512f"
            + " avx512dq adx avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 avx_vnni avx512_bf16"
            + " clzero xsaveerptr arat avx512vbmi avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq movdiri"
            + " movdir64b fsrm avx512_vp2intersect");
    /** Intel Xeon Gold 6148 (Skylake-SP). */
    private static final Set<String> SKYLAKE_X = Nd4jRuntime.procCpuinfoFlags("flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr"
            + " pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art"
            + " arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx est"
            + " tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid dca sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand"
            + " lahf_lm abm 3dnowprefetch cpuid_fault epb cat_l3 cdp_l3 invpcid_single pti intel_ppin ssbd mba ibrs ibpb stibp"
            + " tpr_shadow vnmi flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 hle avx2 smep bmi2 erms invpcid rtm cqm mpx rdt_a"
            + " avx512f avx512dq rdseed adx smap clflushopt clwb intel_pt avx512cd avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves"
            + " cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local dtherm ida arat pln pts pku ospke md_clear flush_l1d");
    /** Intel Core i7-4770 (Haswell): AVX2, no AVX-512. */
    private static final Set<String> HASWELL = Nd4jRuntime.procCpuinfoFlags("flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge"
            + " mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon"
            + " pebs bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3"
            + " sdbg fma cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm"
            + " cpuid_fault epb invpcid_single pti ssbd ibrs ibpb stibp tpr_shadow vnmi flexpriority ept vpid ept_ad fsgsbase tsc_adjust"
            + " bmi1 avx2 smep bmi2 erms invpcid xsaveopt dtherm ida arat pln pts md_clear flush_l1d");
    /** AMD Ryzen 7 3700X (Zen 2): AVX2, no AVX-512. */
    private static final Set<String> ZEN2 = Nd4jRuntime.procCpuinfoFlags("flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca"
            + " cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl"
            + " nonstop_tsc cpuid extd_apicid aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave"
            + " avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw ibs skinit wdt tce"
            + " topoext perfctr_core perfctr_nb bpext perfctr_llc mwaitx cpb cat_l3 cdp_l3 hw_pstate ssbd mba ibpb stibp vmmcall fsgsbase"
            + " bmi1 avx2 smep bmi2 cqm rdt_a rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc"
            + " cqm_mbm_total cqm_mbm_local clzero irperf xsaveerptr rdpru wbnoinvd arat npt lbrv svm_lock nrip_save tsc_scale"
            + " vmcb_clean flushbyasid decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif v_spec_ctrl umip rdpid"
            + " overflow_recov succor smca sme sev sev_es");
    /** Intel Core i7-2600 (Sandy Bridge): AVX but no AVX2, FMA or F16C. */
    private static final Set<String> SANDY_BRIDGE = Nd4jRuntime.procCpuinfoFlags("flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr"
            + " pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx rdtscp lm constant_tsc arch_perfmon pebs"
            + " bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 cx16"
            + " xtpr pdcm pcid sse4_1 sse4_2 x2apic popcnt tsc_deadline_timer aes xsave avx lahf_lm epb pti ssbd ibrs ibpb stibp"
            + " tpr_shadow vnmi flexpriority ept vpid xsaveopt dtherm ida arat pln pts md_clear flush_l1d");
    /** Intel Core 2 Duo E8400 (Penryn): SSE only. */
    private static final Set<String> CORE2 = Nd4jRuntime.procCpuinfoFlags("flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca"
            + " cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx lm constant_tsc arch_perfmon pebs bts rep_good"
            + " nopl cpuid aperfmperf pni dtes64 monitor ds_cpl vmx smx est tm2 ssse3 cx16 xtpr pdcm sse4_1 xsave lahf_lm pti tpr_shadow"
            + " vnmi flexpriority vpid dtherm");

    private static final Predicate<String> ALL_JARS = classifier -> true;

    private static Nd4jBuild.Choice auto(String platform, Set<String> flags, Predicate<String> present) {
        return Nd4jBuild.choose(platform, flags, null, Nd4jBuild.PROPERTY, present);
    }

    private static Nd4jBuild.Choice forced(String platform, Set<String> flags, String build, Predicate<String> present) {
        return Nd4jBuild.choose(platform, flags, build, Nd4jBuild.PROPERTY, present);
    }

    private static Predicate<String> only(String... classifiers) {
        return Set.of(classifiers)::contains;
    }

    @Test
    void platformNamesFollowJavacpp() {
        assertThat(Nd4jBuild.platform("Linux", "amd64")).isEqualTo("linux-x86_64");
        assertThat(Nd4jBuild.platform("Linux", "aarch64")).isEqualTo("linux-arm64");
        assertThat(Nd4jBuild.platform("Mac OS X", "x86_64")).isEqualTo("macosx-x86_64");
        assertThat(Nd4jBuild.platform("Mac OS X", "aarch64")).isEqualTo("macosx-arm64");
        assertThat(Nd4jBuild.platform("Windows 11", "amd64")).isEqualTo("windows-x86_64");
    }

    @Test
    void avx512MachinesLoadTheAvx512BuildWhenPresent() {
        for (Set<String> cpu : Set.of(ZEN5, SKYLAKE_X)) {
            assertThat(auto("linux-x86_64", cpu, ALL_JARS)).isEqualTo(new Nd4jBuild.Load("linux-x86_64", Nd4jBuild.ONEDNN_AVX512));
            assertThat(auto("linux-x86_64", cpu, only("linux-x86_64-onednn-avx2", "linux-x86_64-onednn")))
                    .isEqualTo(new Nd4jBuild.Load("linux-x86_64", Nd4jBuild.ONEDNN_AVX2));
            assertThat(auto("linux-x86_64", cpu, only("linux-x86_64-onednn")))
                    .isEqualTo(new Nd4jBuild.Load("linux-x86_64", Nd4jBuild.ONEDNN));
        }
        assertThat(((Nd4jBuild.Load) auto("linux-x86_64", ZEN5, ALL_JARS)).classifier()).isEqualTo("linux-x86_64-onednn-avx512");
    }

    @Test
    void avx2MachinesNeverLoadTheAvx512Build() {
        for (Set<String> cpu : Set.of(HASWELL, ZEN2)) {
            assertThat(auto("linux-x86_64", cpu, ALL_JARS)).isEqualTo(new Nd4jBuild.Load("linux-x86_64", Nd4jBuild.ONEDNN_AVX2));
            assertThat(auto("linux-x86_64", cpu, only("linux-x86_64-onednn-avx512", "linux-x86_64-onednn")))
                    .isEqualTo(new Nd4jBuild.Load("linux-x86_64", Nd4jBuild.ONEDNN));
            assertThat(auto("linux-x86_64", cpu, only("linux-x86_64-onednn-avx512")))
                    .isInstanceOf(Nd4jBuild.Refuse.class).asString()
                    .contains("org.nd4j:nd4j-native:1.0.0-M2.1:linux-x86_64-onednn-avx2");
            assertThat(forced("linux-x86_64", cpu, "onednn-avx512", ALL_JARS)).asString()
                    .contains("avx512bw").contains("avx512f").contains("lacks");
        }
    }

    @Test
    void cpusWithoutAvx2LoadOnlyThePlainX8664Build() {
        for (Set<String> cpu : Set.of(SANDY_BRIDGE, CORE2)) {
            assertThat(auto("linux-x86_64", cpu, ALL_JARS)).isEqualTo(new Nd4jBuild.Load("linux-x86_64", Nd4jBuild.ONEDNN));
            assertThat(auto("linux-x86_64", cpu, only("linux-x86_64-onednn-avx2", "linux-x86_64-onednn-avx512")))
                    .isInstanceOf(Nd4jBuild.Refuse.class).asString().contains("linux-x86_64-onednn ");
            assertThat(forced("linux-x86_64", cpu, "onednn-avx2", ALL_JARS)).asString().contains("avx2").contains("fma");
        }
        assertThat(Nd4jBuild.ONEDNN_AVX2.missingFlags(SANDY_BRIDGE)).containsExactly("avx2", "f16c", "fma");
        assertThat(Nd4jBuild.ONEDNN_AVX2.missingFlags(CORE2)).containsExactly("avx", "avx2", "f16c", "fma");
    }

    @Test
    void armHasNoOneDnnBuild() {
        Set<String> graviton2 = Nd4jRuntime.procCpuinfoFlags("Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp"
                + " cpuid asimdrdm lrcpc dcpop asimddp ssbs");
        assertThat(auto("linux-arm64", graviton2, ALL_JARS)).isInstanceOf(Nd4jBuild.Refuse.class).asString().contains("linux-arm64");
        assertThat(auto("macosx-arm64", Set.of(), ALL_JARS)).isInstanceOf(Nd4jBuild.Refuse.class).asString().contains("macosx-arm64");
        assertThat(forced("linux-arm64", graviton2, "onednn", ALL_JARS)).isInstanceOf(Nd4jBuild.Refuse.class);
    }

    @Test
    void macOsAndWindowsUseTheJvmsFlagsAndStopAtAvx2() {
        // no /proc/cpuinfo there: HotSpot's -XX:UseAVX / -XX:UseFMA say what the CPU has
        Set<String> avx512Laptop = Nd4jRuntime.jvmCpuFlags(3, true);
        assertThat(avx512Laptop).containsExactlyInAnyOrder("avx", "avx2", "f16c", "fma");
        assertThat(auto("windows-x86_64", avx512Laptop, ALL_JARS)).isEqualTo(new Nd4jBuild.Load("windows-x86_64", Nd4jBuild.ONEDNN_AVX2));
        assertThat(auto("macosx-x86_64", Nd4jRuntime.jvmCpuFlags(2, true), ALL_JARS))
                .isEqualTo(new Nd4jBuild.Load("macosx-x86_64", Nd4jBuild.ONEDNN_AVX2));
        assertThat(auto("macosx-x86_64", Nd4jRuntime.jvmCpuFlags(1, false), ALL_JARS))
                .isEqualTo(new Nd4jBuild.Load("macosx-x86_64", Nd4jBuild.ONEDNN));
        assertThat(forced("macosx-x86_64", ZEN5, "onednn-avx512", ALL_JARS)).asString().contains("names no oneDNN build for macosx-x86_64");
        assertThat(auto("windows-x86_64", Nd4jRuntime.jvmCpuFlags(0, false), only("windows-x86_64-onednn")))
                .isEqualTo(new Nd4jBuild.Load("windows-x86_64", Nd4jBuild.ONEDNN));
        // the Linux jars do not count on Windows
        assertThat(auto("windows-x86_64", avx512Laptop, only("linux-x86_64-onednn-avx2", "linux-x86_64-onednn")))
                .isInstanceOf(Nd4jBuild.Refuse.class).asString().contains("windows-x86_64-onednn-avx2");
    }

    @Test
    void aRequestedBuildIsLoadedOnlyWhereItCanRun() {
        assertThat(forced("linux-x86_64", ZEN5, "onednn-avx2", ALL_JARS)).isEqualTo(new Nd4jBuild.Load("linux-x86_64", Nd4jBuild.ONEDNN_AVX2));
        assertThat(forced("linux-x86_64", ZEN5, " ONEDNN ", ALL_JARS)).isEqualTo(new Nd4jBuild.Load("linux-x86_64", Nd4jBuild.ONEDNN));
        assertThat(forced("linux-x86_64", ZEN5, "auto", only("linux-x86_64-onednn"))).isEqualTo(new Nd4jBuild.Load("linux-x86_64", Nd4jBuild.ONEDNN));
        assertThat(forced("linux-x86_64", ZEN5, "onednn-avx2", only("linux-x86_64-onednn"))).asString()
                .contains("magma.onednn.build=onednn-avx2").contains("not on the class path");
        assertThat(forced("linux-x86_64", ZEN5, "avx2", ALL_JARS)).isInstanceOf(Nd4jBuild.Refuse.class).asString()
                .contains("names no oneDNN build").contains("onednn-avx512");
        // javacpp's own property, as users of nd4j set it
        assertThat(Nd4jBuild.choose("linux-x86_64", ZEN5, "-onednn-avx2", Nd4jBuild.JAVACPP_EXTENSION, ALL_JARS))
                .isEqualTo(new Nd4jBuild.Load("linux-x86_64", Nd4jBuild.ONEDNN_AVX2));
        assertThat(Nd4jBuild.choose("linux-x86_64", HASWELL, "-avx512", Nd4jBuild.JAVACPP_EXTENSION, ALL_JARS)).asString()
                .contains("org.bytedeco.javacpp.platform.extension=-avx512 names no oneDNN build");
    }

    @Test
    void everyBuildRunsWhereABetterOneDoes() {
        for (Set<String> cpu : Set.of(ZEN5, SKYLAKE_X, HASWELL, ZEN2, SANDY_BRIDGE, CORE2)) {
            boolean avx512 = Nd4jBuild.ONEDNN_AVX512.missingFlags(cpu).isEmpty();
            boolean avx2 = Nd4jBuild.ONEDNN_AVX2.missingFlags(cpu).isEmpty();
            assertThat(!avx512 || avx2).isTrue();
            assertThat(Nd4jBuild.ONEDNN.missingFlags(cpu)).isEmpty();
        }
    }
}
