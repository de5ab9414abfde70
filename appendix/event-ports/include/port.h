/* A TEACHING EMULATION of Solaris / illumos event ports on Linux, over epoll. It is not illumos:
 * it offers only what the appendix (notes/appendix-ports.md) teaches, and refuses the rest with
 * EINVAL and a reason (event_port_emulation_why()).
 *
 * The model, as illumos documents it (port_create(3C), port_associate(3C), port_get(3C),
 * port_send(3C), port_alert(3C)):
 *   - a port is a descriptor; objects are associated with it, each with a source (here only
 *     PORT_SOURCE_FD, a file descriptor and poll(2) events) and a user pointer;
 *   - an association is ONE-SHOT: once its event has been retrieved by port_get/port_getn the
 *     object is dissociated, and the program associates it again when it wants more;
 *   - port_send queues an event of the program's own (PORT_SOURCE_USER), like IOCP's
 *     PostQueuedCompletionStatus; port_alert puts the port in alert mode, where every port_get
 *     returns at once with the alert, until the alert is cleared.
 * Any number of threads may wait on one port; each event goes to one of them. */
#ifndef EVQ_EVENT_PORT_EMULATION_H
#define EVQ_EVENT_PORT_EMULATION_H

#include <poll.h>
#include <stdint.h>
#include <time.h>

#define EVQ_EVENT_PORT_EMULATION 1

#define PORT_SOURCE_AIO 1   /* not emulated */
#define PORT_SOURCE_TIMER 2 /* not emulated */
#define PORT_SOURCE_USER 3
#define PORT_SOURCE_FD 4
#define PORT_SOURCE_ALERT 5
#define PORT_SOURCE_MQ 6   /* not emulated */
#define PORT_SOURCE_FILE 7 /* not emulated */

#define PORT_ALERT_SET 0x01    /* set (or replace) the alert; events 0 clears it */
#define PORT_ALERT_UPDATE 0x02 /* set the alert only if none is set, else EBUSY */

typedef struct port_event {
  int portev_events; /* FD: the poll(2) revents; USER and ALERT: the events given */
  unsigned short portev_source;
  unsigned short portev_pad;
  uintptr_t portev_object; /* FD: the descriptor; USER: the sender's pid */
  void* portev_user;       /* the pointer given to port_associate, port_send or port_alert */
} port_event_t;

#ifdef __cplusplus
extern "C" {
#endif

int port_create(void);
int port_associate(int port, int source, uintptr_t object, int events, void* user);
int port_dissociate(int port, int source, uintptr_t object);
/* 0 with *pe filled, or -1: ETIME when the timeout passed (NULL: wait for ever). */
int port_get(int port, port_event_t* pe, const struct timespec* timeout);
/* Waits until at least *nget events are there (or the timeout), returns up to max of them and sets
 * *nget to how many. max 0 only counts what is pending. On ETIME, *nget events were still returned. */
int port_getn(int port, port_event_t list[], unsigned max, unsigned* nget, const struct timespec* timeout);
int port_send(int port, int events, void* user);
int port_alert(int port, int flags, int events, void* user);
/* The reason for this thread's last refusal, in words; empty if none. Emulation only. */
const char* event_port_emulation_why(void);

#ifdef __cplusplus
}
#endif

#endif
