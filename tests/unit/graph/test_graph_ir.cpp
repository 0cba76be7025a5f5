#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "graph/graph.hpp"

namespace cimlab::graph {

TEST(GraphIr, NumelRejectsAbsurdSizes) {
  EXPECT_EQ(numel({2, 3, 4}), 24);
  EXPECT_EQ(numel({}), 1);
  EXPECT_THROW(numel({std::int64_t{1} << 40, 2}), core::ModelError);
  EXPECT_THROW(numel({-1, 3}), core::ModelError);
}

TEST(GraphIr, PruneDropsDeadNodesAndRenumbers) {
  Graph g;
  const int x = g.add_input("x", {1, 4});
  const int dead = g.add_value("dead");
  g.add_node({"n0", "Relu", {x}, {dead}, {}});
  const int y = g.add_value("y");
  g.add_node({"n1", "Sigmoid", {x}, {y}, {}});
  g.outputs = {y};
  g.prune();
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, "Sigmoid");
  EXPECT_EQ(g.find("dead"), -1);
  EXPECT_EQ(g.value(g.outputs[0]).name, "y");
  EXPECT_EQ(g.value(g.outputs[0]).producer, 0);
  EXPECT_NO_THROW(g.check());
}

TEST(GraphIr, CheckFindsUseBeforeDefinition) {
  Graph g;
  const int x = g.add_input("x", {1, 4});
  const int a = g.add_value("a");
  const int b = g.add_value("b");
  g.add_node({"first", "Add", {x, b}, {a}, {}});  // b defined later: a cycle in ONNX terms
  g.add_node({"second", "Relu", {a}, {b}, {}});
  g.outputs = {b};
  EXPECT_THROW(g.check(), core::ModelError);
}

TEST(GraphIr, DuplicateNamesAndProducersAreErrors) {
  Graph g;
  const int x = g.add_input("x", {1});
  EXPECT_THROW(g.add_value("x"), core::ModelError);
  const int y = g.add_value("y");
  g.add_node({"a", "Relu", {x}, {y}, {}});
  EXPECT_THROW(g.add_node({"b", "Relu", {x}, {y}, {}}), core::ModelError);
}

TEST(GraphIr, AttributeTypesAreChecked) {
  Attributes a;
  a.set("k", std::int64_t{3});
  a.set("alpha", 0.5);
  EXPECT_EQ(a.i("k", 0), 3);
  EXPECT_DOUBLE_EQ(a.f("alpha", 1.0), 0.5);
  EXPECT_DOUBLE_EQ(a.f("k", 0.0), 3.0);
  EXPECT_EQ(a.ints("pads", {0, 0}), (std::vector<std::int64_t>{0, 0}));
  EXPECT_THROW(a.s("k", ""), core::ModelError);
}

}  // namespace cimlab::graph
