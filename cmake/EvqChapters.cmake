# How a chapter plugs into the build. A chapter directory uses four functions:
#
#   evq_add_demo(name SOURCES a.cpp LIBS ch02-epoll TOUR --clients 4)
#       a narrated program in bin/chNN/; TOUR (with its arguments) puts it in `tools/lab demo chNN`
#       and makes a ctest test (label chNN-demo) that runs it exactly so and wants exit status 0.
#       Status 77 means "this machine cannot run me" (say why first): ctest and the tour count it
#       as skipped, not passed.
#   evq_add_tests(name SOURCES test_x.cpp LIBS ch02-epoll [PREFIX "ch03 (kqueue emulation): "])
#       a doctest program; every TEST_CASE becomes a ctest test labelled chNN.
#   evq_add_lab(name STUDENT_FILES timer_queue.cpp TESTS test_timer_queue.cpp LIBS ch02-epoll)
#       a lab: the student's files come from exercises/<chapter>/ or solutions/<chapter>/
#       (EVQ_LAB_SOURCE); its tests are labelled lab-chNN and carry their points in their names,
#       "fires in deadline order [2 pts]". Tests in tests/labs/<chapter>/hidden/test_<name>.cpp join
#       them when present (the Gradescope autograder has them, a student handout does not), and with
#       EVQ_LAB_WRONG each tests/labs/<chapter>/wrong/<name>/<mistake>.mutation (one edit of the
#       reference solution, applied by tools/mutate.py) is built against the same tests as its own
#       program (label wrong-chNN, prefix "wrong chNN/<name>/<mistake>: ").
#   evq_chapter_skip("why, and what to install")
#       inside a chapter: one configure message, and the chapter's tests are not added.
#   evq_add_hostile_server("echo_level" TARGET echo_level CAP 16384 [NEEDS io_uring] ARGS --serve --quiet)
#       puts a --serve demo under the hostile-client suite (tests/hostile, label `hostile`): every
#       case of the suite, run against that program as its own process. CAP is the per-connection
#       buffer cap the server states. NEEDS io_uring (implied by `--backend io_uring` in ARGS): where
#       the kernel refuses io_uring, each case checks that the server refuses to start with a clear
#       message, then is skipped. (The Windows servers, run under Wine, are listed in
#       tests/hostile/CMakeLists.txt.)
#
# The top level calls evq_add_chapter() once per chapter, then evq_finish_chapters(), which makes the
# check-chNN targets (build the chapter, run its tests, its demos, its labs and the hostile suite
# against its servers), build-chNN (build
# only) and labs-chNN (build only the lab tests, for the grader).

set_property(GLOBAL PROPERTY EVQ_CHAPTERS_BUILT "")
set_property(GLOBAL PROPERTY EVQ_CHAPTERS_SKIPPED "")

function(evq_add_chapter name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SKIP_HINT" "PLATFORMS")
  string(SUBSTRING "${name}" 0 4 id)
  if(arg_PLATFORMS AND NOT CMAKE_SYSTEM_NAME IN_LIST arg_PLATFORMS)
    message(STATUS "evq: ${name} skipped on ${CMAKE_SYSTEM_NAME}: ${arg_SKIP_HINT}")
    set_property(GLOBAL APPEND PROPERTY EVQ_CHAPTERS_SKIPPED "${name}")
    return()
  endif()
  if(NOT EXISTS "${CMAKE_SOURCE_DIR}/chapters/${name}/CMakeLists.txt")
    return()  # not written yet
  endif()
  # Seen by every directory added below, so the helpers know whose targets they make.
  set(EVQ_CHAPTER "${name}")
  set(EVQ_CHAPTER_ID "${id}")
  set_property(GLOBAL PROPERTY EVQ_SKIP_${id} "")
  add_subdirectory("${CMAKE_SOURCE_DIR}/chapters/${name}" "chapters/${name}")
  get_property(skip GLOBAL PROPERTY EVQ_SKIP_${id})
  if(skip)
    message(STATUS "evq: ${name} skipped: ${skip}")
    set_property(GLOBAL APPEND PROPERTY EVQ_CHAPTERS_SKIPPED "${name}")
    return()
  endif()
  foreach(part tests tests/labs)
    if(EXISTS "${CMAKE_SOURCE_DIR}/${part}/${name}/CMakeLists.txt")
      add_subdirectory("${CMAKE_SOURCE_DIR}/${part}/${name}" "${part}/${name}")
    endif()
  endforeach()
  set_property(GLOBAL APPEND PROPERTY EVQ_CHAPTERS_BUILT "${name}")
endfunction()

function(evq_chapter_skip why)
  set_property(GLOBAL PROPERTY EVQ_SKIP_${EVQ_CHAPTER_ID} "${why}")
endfunction()

function(_evq_register_target target)
  set_property(GLOBAL APPEND PROPERTY EVQ_TARGETS_${EVQ_CHAPTER_ID} ${target})
endfunction()

# Library of a chapter (or part of one): evq_add_library(ch02-epoll SOURCES src/poll.cpp LIBS ...)
function(evq_add_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;LIBS;INCLUDES")
  add_library(${name} STATIC ${arg_SOURCES})
  target_link_libraries(${name} PUBLIC evq::common ${arg_LIBS})
  if(arg_INCLUDES)
    target_include_directories(${name} PUBLIC ${arg_INCLUDES})
  elseif(EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/include")
    target_include_directories(${name} PUBLIC "${CMAKE_CURRENT_SOURCE_DIR}/include")
  endif()
  _evq_register_target(${name})
endfunction()

function(evq_add_demo name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;LIBS;TOUR")
  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE evq::common ${arg_LIBS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/bin/${EVQ_CHAPTER_ID}")
  _evq_register_target(${name})
  if("TOUR" IN_LIST ARGN)
    # The tour file lists, in order, the demos `tools/lab demo` runs and their arguments.
    string(JOIN " " args ${arg_TOUR})
    set_property(GLOBAL APPEND PROPERTY EVQ_TOUR_${EVQ_CHAPTER_ID} "${name}\t${args}")
    add_test(NAME "${EVQ_CHAPTER_ID}-demo: ${name} ${args}" COMMAND ${name} ${arg_TOUR})
    set_tests_properties("${EVQ_CHAPTER_ID}-demo: ${name} ${args}" PROPERTIES
                         LABELS "${EVQ_CHAPTER_ID}-demo" TIMEOUT 120 SKIP_RETURN_CODE 77)
  endif()
endfunction()

function(_evq_doctest_program target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "PREFIX;LABEL;TIMEOUT" "SOURCES;LIBS")
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 120)
  endif()
  add_executable(${target} ${arg_SOURCES})
  target_link_libraries(${target} PRIVATE evq::test_support ${arg_LIBS})
  _evq_register_target(${target})
  # Every wait in a test has its own deadline; the ctest TIMEOUT is only the backstop for a hang.
  string(REPLACE " " "%20" prefix "${arg_PREFIX}")  # see _evq_wrap_doctest_discovery
  doctest_discover_tests(${target} TEST_PREFIX "${prefix}"
                         PROPERTIES LABELS "${arg_LABEL}" TIMEOUT ${arg_TIMEOUT})
endfunction()

function(evq_add_tests name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "PREFIX" "SOURCES;LIBS")
  if(NOT arg_PREFIX)
    set(arg_PREFIX "${EVQ_CHAPTER_ID}: ")
  endif()
  _evq_doctest_program(${name} PREFIX "${arg_PREFIX}" LABEL "${EVQ_CHAPTER_ID}"
                       SOURCES ${arg_SOURCES} LIBS ${arg_LIBS})
endfunction()

function(evq_add_lab name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "PREFIX" "STUDENT_FILES;TESTS;LIBS")
  set(student_dir "${CMAKE_SOURCE_DIR}/${EVQ_LAB_SOURCE}/${EVQ_CHAPTER}")
  set(files "")
  foreach(f ${arg_STUDENT_FILES})
    if(NOT EXISTS "${student_dir}/${f}")
      message(FATAL_ERROR "lab ${EVQ_CHAPTER_ID}/${name}: ${student_dir}/${f} is missing")
    endif()
    list(APPEND files "${student_dir}/${f}")
  endforeach()
  set(tests ${arg_TESTS})
  if(EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/hidden/test_${name}.cpp")
    list(APPEND tests "hidden/test_${name}.cpp")
  endif()
  if(NOT arg_PREFIX)
    set(arg_PREFIX "lab ${EVQ_CHAPTER_ID}/${name}: ")
  endif()
  # Each lab is its own library and test program, so a compile error in one student file costs
  # that lab only: the grader builds lab by lab.
  set(lib "lab-${EVQ_CHAPTER_ID}-${name}")
  add_library(${lib} STATIC ${files})
  target_link_libraries(${lib} PUBLIC evq::common ${arg_LIBS})
  _evq_register_target(${lib})
  set_property(GLOBAL APPEND PROPERTY EVQ_LABS_${EVQ_CHAPTER_ID} ${name})
  _evq_doctest_program(${lib}-tests PREFIX "${arg_PREFIX}" LABEL "lab-${EVQ_CHAPTER_ID}"
                       TIMEOUT ${EVQ_LAB_TIMEOUT} SOURCES ${tests} LIBS ${lib})
  set_property(GLOBAL APPEND PROPERTY EVQ_LAB_TARGETS_${EVQ_CHAPTER_ID} ${lib}-tests)
  if(EVQ_LAB_WRONG)
    # Each mutation is one small edit of the reference solution (tools/mutate.py writes the file).
    list(LENGTH arg_STUDENT_FILES nfiles)
    if(NOT nfiles EQUAL 1)
      message(FATAL_ERROR "lab ${EVQ_CHAPTER_ID}/${name}: wrong solutions need a lab with one student file")
    endif()
    set(solution "${CMAKE_SOURCE_DIR}/solutions/${EVQ_CHAPTER}/${arg_STUDENT_FILES}")
    file(GLOB mutations CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/wrong/${name}/*.mutation")
    foreach(mutation ${mutations})
      get_filename_component(mistake "${mutation}" NAME_WE)
      set(wlib "wrong-${EVQ_CHAPTER_ID}-${name}-${mistake}")
      set(generated "${CMAKE_CURRENT_BINARY_DIR}/wrong/${name}/${mistake}.cpp")
      add_custom_command(OUTPUT "${generated}"
        COMMAND Python3::Interpreter "${CMAKE_SOURCE_DIR}/tools/mutate.py" apply "${solution}" "${mutation}" "${generated}"
        DEPENDS "${solution}" "${mutation}" "${CMAKE_SOURCE_DIR}/tools/mutate.py"
        COMMENT "wrong solution ${EVQ_CHAPTER_ID}/${name}/${mistake}" VERBATIM)
      add_library(${wlib} STATIC "${generated}")
      target_link_libraries(${wlib} PUBLIC evq::common ${arg_LIBS})
      _evq_doctest_program(${wlib}-tests PREFIX "wrong ${EVQ_CHAPTER_ID}/${name}/${mistake}: "
                           LABEL "wrong-${EVQ_CHAPTER_ID}" TIMEOUT ${EVQ_LAB_TIMEOUT}
                           SOURCES ${tests} LIBS ${wlib})
      set_property(GLOBAL APPEND PROPERTY EVQ_WRONG_TARGETS_${EVQ_CHAPTER_ID}_${name} ${wlib}-tests)
      set_property(GLOBAL APPEND PROPERTY EVQ_WRONG_TARGETS ${wlib}-tests)
    endforeach()
  endif()
endfunction()

# A lab's CMakeLists.txt adds settings to its test program with this, so that the programs built
# from its deliberately wrong solutions get them too: evq_lab_test_settings(idle_timers
# INCLUDES dir). (target_include_directories on lab-chNN-<lab>-tests alone would miss those.)
function(evq_lab_test_settings name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "INCLUDES")
  get_property(wrong GLOBAL PROPERTY EVQ_WRONG_TARGETS_${EVQ_CHAPTER_ID}_${name})
  foreach(t lab-${EVQ_CHAPTER_ID}-${name}-tests ${wrong})
    target_include_directories(${t} PRIVATE ${arg_INCLUDES})
  endforeach()
endfunction()

function(evq_add_hostile_server name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "TARGET;CAP;NEEDS" "ARGS")
  if(";${arg_ARGS};" MATCHES ";--backend;io_uring;")  # every server run on ch04's io_uring backend
    set(arg_NEEDS io_uring)
  endif()
  set(id "${EVQ_CHAPTER_ID}-${name}")
  string(MAKE_C_IDENTIFIER "${id}" key)
  set_property(GLOBAL APPEND PROPERTY EVQ_HOSTILE_SERVERS ${key})
  set_property(GLOBAL PROPERTY EVQ_HOSTILE_${key}_NAME "${EVQ_CHAPTER_ID} ${name}")
  set_property(GLOBAL PROPERTY EVQ_HOSTILE_${key}_CHAPTER "${EVQ_CHAPTER_ID}")
  set_property(GLOBAL PROPERTY EVQ_HOSTILE_${key}_TARGET "${arg_TARGET}")
  set_property(GLOBAL PROPERTY EVQ_HOSTILE_${key}_CAP "${arg_CAP}")
  set_property(GLOBAL PROPERTY EVQ_HOSTILE_${key}_ARGS "${arg_ARGS}")
  set_property(GLOBAL PROPERTY EVQ_HOSTILE_${key}_NEEDS "${arg_NEEDS}")
endfunction()

function(evq_finish_chapters)
  get_property(built GLOBAL PROPERTY EVQ_CHAPTERS_BUILT)
  get_property(skipped GLOBAL PROPERTY EVQ_CHAPTERS_SKIPPED)
  file(REMOVE_RECURSE "${CMAKE_BINARY_DIR}/tour")
  foreach(name ${built})
    string(SUBSTRING "${name}" 0 4 id)
    get_property(targets GLOBAL PROPERTY EVQ_TARGETS_${id})
    get_property(lab_targets GLOBAL PROPERTY EVQ_LAB_TARGETS_${id})
    get_property(tour GLOBAL PROPERTY EVQ_TOUR_${id})
    if(TARGET hostile-tests)
      list(APPEND targets hostile-tests)  # the suite that attacks this chapter's servers
    endif()
    # check-chNN: build this chapter only, then run its tests, its demo runs and its lab tests.
    add_custom_target(check-${id}
      COMMAND ${CMAKE_CTEST_COMMAND} --output-on-failure -L "^(${id}|${id}-demo|lab-${id}|hostile-${id})$"
      DEPENDS ${targets} WORKING_DIRECTORY "${CMAKE_BINARY_DIR}" USES_TERMINAL VERBATIM
      COMMENT "Testing ${name}")
    add_custom_target(build-${id} DEPENDS ${targets})
    add_custom_target(labs-${id} DEPENDS ${lab_targets})
    string(JOIN "\n" tour_text ${tour})
    file(WRITE "${CMAKE_BINARY_DIR}/tour/${id}.tsv" "${tour_text}\n")
  endforeach()
  file(WRITE "${CMAKE_BINARY_DIR}/tour/chapters.txt" "built: ${built}\nskipped: ${skipped}\n")
  get_property(wrong GLOBAL PROPERTY EVQ_WRONG_TARGETS)
  if(EVQ_LAB_WRONG)
    add_custom_target(wrong-labs DEPENDS ${wrong})
  endif()
  message(STATUS "evq: chapters built here: ${built}")
endfunction()
