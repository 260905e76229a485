/* bcryptprimitives.dll for Wine 8.0 (Debian 12), which lacks it.
 *
 * Rust's x86_64-pc-windows-gnu standard library imports ProcessPrng from bcryptprimitives.dll
 * (Windows 10+); without it every Rust program fails to load under Wine 8.0 (status 53).
 * This DLL exports ProcessPrng and forwards it to advapi32's SystemFunction036 (RtlGenRandom),
 * which Wine has. Built by build.sh; placed beside the executables by runner.sh. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE pbData, SIZE_T cbData)
{
    while (cbData > 0) {
        ULONG n = cbData > 0x40000000 ? 0x40000000 : (ULONG)cbData;
        if (!SystemFunction036(pbData, n))
            return FALSE;
        pbData += n;
        cbData -= n;
    }
    return TRUE;
}
