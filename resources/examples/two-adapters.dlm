---
# Two adapters on two clearly different topics, with a learned gate that routes each prompt between them.
dlm_id: 01JDXMDESKTQPEXAMP1E000002
dlm_version: 15
base_model: smollm2-135m
system_prompt: |
  You answer questions about astronomy and baking in one or two sentences.
training:
  seed: 7
  sequence_len: 512
  adapters:
    astronomy:
      lora_r: 8
      learning_rate: 0.0005
    baking:
      lora_r: 4
      learning_rate: 0.0005
  gate:
    enabled: true
    cold_start_floor: 4
---

# Notes for two experts

This prose trains both adapters: every unrouted prose section goes to all of them.

::instruction#astronomy::
### Q
What is the brightest star in the night sky?

### A
Sirius, in the constellation Canis Major.

::instruction#astronomy::
### Q
How long does light from the Sun take to reach Earth?

### A
About 8 minutes and 20 seconds.

::instruction#astronomy::
### Q
What is a light-year?

### A
The distance light travels in one year, about 9.46 trillion kilometres.

::instruction#astronomy::
### Q
Which planet has the most moons?

### A
Saturn, with more than 140 known moons.

::instruction#astronomy::
### Q
What is a nebula?

### A
A cloud of gas and dust in space where new stars can form.

::instruction#astronomy::
### Q
Why does the Moon show phases?

### A
Because we see different parts of its sunlit half as it orbits Earth.

::instruction#baking::
### Q
Why does bread dough need to rest?

### A
Resting lets the gluten relax and the yeast produce gas, so the bread rises.

::instruction#baking::
### Q
What does baking soda need to work?

### A
An acid, such as buttermilk or yogurt, to release carbon dioxide.

::instruction#baking::
### Q
At what temperature should I bake a sourdough loaf?

### A
Around 230 °C, with steam for the first 20 minutes.

::instruction#baking::
### Q
How do I know a cake is done?

### A
A skewer pushed into the centre comes out clean.

::instruction#baking::
### Q
Why should butter be cold for pastry?

### A
Cold butter makes flaky layers as it melts and steams in the oven.

::instruction#baking::
### Q
What does proofing mean?

### A
Letting shaped dough rise a last time before it goes into the oven.
