// The 16550A as a guest drives it: transmit to the CharOut, receive through RBR/LSR/IIR with the IRQ
// line, FIFO trigger levels, IIR priorities and the THRE interrupt, overrun, loopback, the divisor latch.
#include "system/pc/devices/tests/device-test-util.h"

namespace {

constexpr uint16_t kCom1 = 0x3F8;
enum { RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

class UartTest : public DeviceTest {
protected:
    LineRecorder irq4;
    Uart *com1 = nullptr;
    void SetUp() override
    {
        DeviceTest::SetUp();
        record_gsi(PC_COM1_IRQ, &irq4);
        com1 = pc_devices_uart(d, 0);
        outb(kCom1 + LCR, 0x03);                        // 8N1
    }
    void receive(const char *s) { uart_receive(com1, reinterpret_cast<const uint8_t *>(s), strlen(s)); }
};

TEST_F(UartTest, TransmitGoesToCharOut)
{
    EXPECT_EQ(inb(kCom1 + LSR) & 0x60, 0x60) << "THR and transmitter empty";
    for (char c : std::string("hello")) {
        outb(kCom1, c);
    }
    EXPECT_EQ(com_out[0], "hello");
    outb(0x2F8, '2');
    EXPECT_EQ(com_out[1], "2") << "COM2 has its own output";
    EXPECT_EQ(pc_devices_uart(d, 2), nullptr);
}

TEST_F(UartTest, ReceiveRaisesDataAvailable)
{
    outb(kCom1 + IER, 0x01);                            // ERBFI
    EXPECT_EQ(inb(kCom1 + IIR), 0x01);
    EXPECT_EQ(irq4.level, 0);
    EXPECT_EQ(uart_can_receive(com1), 1u) << "FIFOs off: one byte";
    receive("a");
    EXPECT_EQ(inb(kCom1 + LSR) & 0x01, 0x01) << "LSR.DR";
    EXPECT_EQ(inb(kCom1 + IIR), 0x04) << "received data available";
    EXPECT_EQ(irq4.level, 1);
    EXPECT_EQ(inb(kCom1 + RBR), 'a');
    EXPECT_EQ(inb(kCom1 + LSR) & 0x01, 0);
    EXPECT_EQ(inb(kCom1 + IIR), 0x01);
    EXPECT_EQ(irq4.level, 0);
}

TEST_F(UartTest, FifoTriggerLevelAndTimeout)
{
    outb(kCom1 + FCR, 0xC7);                            // enable + reset FIFOs, trigger at 14
    outb(kCom1 + IER, 0x01);
    EXPECT_EQ(uart_can_receive(com1), 16u);
    receive("abc");
    EXPECT_EQ(inb(kCom1 + IIR), 0xCC) << "below the trigger level: character timeout";
    receive("defghijklmn");
    EXPECT_EQ(inb(kCom1 + IIR), 0xC4) << "14 bytes: received data available";
    EXPECT_EQ(uart_can_receive(com1), 2u);
    std::string got;
    while (inb(kCom1 + LSR) & 1) {
        got += (char)inb(kCom1 + RBR);
    }
    EXPECT_EQ(got, "abcdefghijklmn");
    EXPECT_EQ(irq4.level, 0);
}

TEST_F(UartTest, ThreInterruptAndPriorities)
{
    outb(kCom1 + IER, 0x02);                            // ETBEI with THR empty: interrupts at once
    EXPECT_EQ(irq4.level, 1);
    EXPECT_EQ(inb(kCom1 + IIR), 0x02);
    EXPECT_EQ(inb(kCom1 + IIR), 0x01) << "reading IIR cleared the THRE interrupt";
    EXPECT_EQ(irq4.level, 0);
    outb(kCom1, 'x');
    EXPECT_EQ(irq4.level, 1) << "the byte went out: THR empty again";
    EXPECT_EQ(irq4.rising, 2);
    outb(kCom1 + IER, 0x07);                            // + ERBFI, ELSI
    receive("1");
    receive("2");                                       // overrun: FIFOs off, RBR still full
    EXPECT_EQ(inb(kCom1 + IIR), 0x06) << "line status first";
    EXPECT_EQ(inb(kCom1 + LSR) & 0x03, 0x03) << "DR and OE";
    EXPECT_EQ(inb(kCom1 + IIR), 0x04) << "then received data";
    EXPECT_EQ(inb(kCom1 + RBR), '1');
    EXPECT_EQ(inb(kCom1 + IIR), 0x02) << "then THR empty";
}

TEST_F(UartTest, LoopbackAndModemStatus)
{
    EXPECT_EQ(inb(kCom1 + MSR) & 0xF0, 0xB0) << "DCD, DSR, CTS from the host side";
    outb(kCom1 + MCR, 0x1A);                            // loop, OUT2, RTS
    EXPECT_EQ(inb(kCom1 + MSR) & 0xF0, 0x90) << "CTS = RTS, DCD = OUT2, DSR = DTR = 0";
    EXPECT_EQ(uart_can_receive(com1), 0u) << "loopback disconnects the input";
    outb(kCom1, 'L');
    EXPECT_EQ(com_out[0], "") << "nothing leaves in loopback";
    EXPECT_EQ(inb(kCom1 + LSR) & 1, 1);
    EXPECT_EQ(inb(kCom1 + RBR), 'L');
    outb(kCom1 + MCR, 0x1F);                            // + DTR, OUT1
    EXPECT_EQ(inb(kCom1 + MSR), 0xF0 | 0x02) << "all lines up; DDSR (DCTS and DDCD did not change)";
    EXPECT_EQ(inb(kCom1 + MSR), 0xF0) << "deltas clear on read";
    outb(kCom1 + MCR, 0x00);
    EXPECT_EQ(inb(kCom1 + MSR) & 0xF0, 0xB0);
}

TEST_F(UartTest, DivisorLatchAndScratch)
{
    outb(kCom1 + LCR, 0x83);
    outb(kCom1 + 0, 0x01);
    outb(kCom1 + 1, 0x00);
    EXPECT_EQ(inb(kCom1 + 0), 0x01);
    EXPECT_EQ(inb(kCom1 + 1), 0x00);
    outb(kCom1 + LCR, 0x03);
    EXPECT_EQ(com_out[0], "") << "DLL writes are not data";
    EXPECT_EQ(inb(kCom1 + IER), 0x00);
    outb(kCom1 + SCR, 0x5A);
    EXPECT_EQ(inb(kCom1 + SCR), 0x5A);
    EXPECT_EQ(inb(kCom1 + LCR), 0x03);
}

}  // namespace
