// Lab "batch get": GetQueuedCompletionStatusEx, built from get().
//
// Port::get_many takes up to N packets in one call. Write it yourself on top of Port::get() alone:
//  - wait up to `timeout` for the first packet (and return at once when one arrives: never wait
//    to fill the batch);
//  - then take more packets only if they are already queued (a zero timeout only looks), until
//    `out` is full or none is left;
//  - report Wait::timeout / Wait::closed with count 0 when no first packet came;
//  - an empty `out` is a caller's mistake: throw std::invalid_argument.
// Think about why the follow-up get(0ms) calls never block, even with a concurrency cap of 1:
// which rule of Microsoft's "I/O Completion Ports" (notes/references.md) makes a returning thread take a queued packet?
//
// Your file: exercises/ch05-event-queue/batch_get.cpp.
#pragma once

#include <span>

#include "evq/port/port.hpp"

namespace evq::port::lab {

Port::ManyResult batch_get(Port& port, std::span<Packet> out, Timeout timeout);

}  // namespace evq::port::lab
